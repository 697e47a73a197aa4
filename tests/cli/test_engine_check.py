"""`dispatch-tui engine --check`, for systemd and monitoring: 0 when the database
answers, the configured gateways answer and a headless engine beat lately;
otherwise 1 with one line per reason. Real databases, a real local HTTP
gateway answering like Kannel, ports nobody listens on."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import Engine, update

from dispatch_tui.cli import main
from dispatch_tui.storage import processes
from dispatch_tui.storage.tables import engine_process
from tests.engine.fake_gateway import FakeKannel, Reply
from tests.gateways import free_port

MISSING_RECEIVER = Reply(400, "Missing receiver number", count=False)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> dict[str, str]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return {"DISPATCH_TUI_DATABASE_URL": db_url}


@pytest.fixture
def kannel() -> Iterator[list[FakeKannel]]:
    started: list[FakeKannel] = []
    yield started
    for gateway in started:
        gateway.stop()


def gateway_answering(started: list[FakeKannel], reply: Reply) -> str:
    gateway = FakeKannel(lambda n: reply).start()
    started.append(gateway)
    return gateway.url


def beating(engine: Engine, *, ago: timedelta = timedelta(0), stopped: bool = False) -> str:
    process_id = processes.new_process_id("engine")
    at = datetime.now(UTC) - ago
    processes.register(engine, process_id, "engine", now=at)
    if stopped:
        with engine.begin() as conn:
            conn.execute(
                update(engine_process)
                .where(engine_process.c.id == process_id)
                .values(stopped_at=at)
            )
    return process_id


def check(env: dict[str, str], **more: str) -> Result:
    variables = {**env, **{f"DISPATCH_TUI_{k.upper()}": v for k, v in more.items()}}
    return CliRunner().invoke(main, ["engine", "--check"], env=variables, catch_exceptions=False)


def reasons(result: Result) -> list[str]:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return result.stderr.splitlines()


def test_all_well_is_0_and_says_what_was_checked(
    engine: Engine, env: dict[str, str], kannel: list[FakeKannel]
) -> None:
    process_id = beating(engine, ago=timedelta(seconds=3))
    url = gateway_answering(kannel, MISSING_RECEIVER)
    result = check(env, sms_gateway="kannel", sms_kannel_url=url)
    assert result.exit_code == 0, result.output
    [line] = result.stdout.splitlines()
    assert line.startswith("ok: database: ")
    assert re.search(rf"engine: {process_id} beat [3-9] s ago", line), line
    assert "sms gateway: Kannel at 127.0.0.1:" in line
    assert kannel[0].requests == 1 and not kannel[0].counts()  # asked, nothing sent


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_no_heartbeat_at_all(env: dict[str, str]) -> None:
    [line] = reasons(check(env))
    assert line == "engine: no headless engine has run in the last day (none beat within 40 s)"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_stale_heartbeat_and_a_stopped_engine(engine: Engine, env: dict[str, str]) -> None:
    stale = beating(engine, ago=timedelta(minutes=5))
    [line] = reasons(check(env))
    assert line == f"engine: none beat within 40 s; the last beat was {stale}'s, 5 min 0 s ago"
    stopped = beating(engine, ago=timedelta(minutes=1), stopped=True)
    [line] = reasons(check(env))
    assert line == f"engine: none beat within 40 s; the last, {stopped}, stopped 60 s ago"
    beating(engine, ago=timedelta(seconds=150))
    assert "none beat within 40 s" in reasons(check(env))[0]  # beats every 20 s
    assert check(env, delivery_lease_seconds="300").exit_code == 0  # beats every 100 s


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_unreachable_unhealthy_or_refusing_gateway(
    engine: Engine, env: dict[str, str], kannel: list[FakeKannel]
) -> None:
    beating(engine)
    nobody = f"http://127.0.0.1:{free_port()}/cgi-bin/sendsms"
    [line] = reasons(check(env, sms_gateway="kannel", sms_kannel_url=nobody))
    assert line.startswith("sms gateway: Kannel at 127.0.0.1:") and "unreachable" in line
    busy = gateway_answering(kannel, Reply(503, "Service unavailable", count=False))
    [line] = reasons(check(env, sms_gateway="kannel", sms_kannel_url=busy))
    assert line.endswith("unhealthy: answered 503 'Service unavailable'")
    refusing = gateway_answering(kannel, Reply(403, "Authorization failed for sendsms"))
    [line] = reasons(check(env, sms_gateway="kannel", sms_kannel_url=refusing))
    assert "refused our credentials" in line


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_unreachable_smtp_server(engine: Engine, env: dict[str, str]) -> None:
    beating(engine)
    port = str(free_port())
    [line] = reasons(check(env, email_gateway="smtp", email_smtp_port=port))
    assert line.startswith(f"email gateway: SMTP server localhost:{port} unreachable")


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_an_unreachable_database_is_one_line_and_the_gateway_still_checked(
    env: dict[str, str],
) -> None:
    database = f"postgresql://nobody@127.0.0.1:{free_port()}/dispatch"
    nobody = f"http://127.0.0.1:{free_port()}/cgi-bin/sendsms"
    result = check(env, database_url=database, sms_gateway="kannel", sms_kannel_url=nobody)
    first, second = reasons(result)
    assert first.startswith("database: cannot connect to the database")
    assert "unreachable" in second


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
def test_a_database_without_schema(tmp_path: Path, env: dict[str, str]) -> None:
    empty = f"sqlite:///{tmp_path / 'empty.sqlite'}"
    [line] = reasons(check(env, database_url=empty))
    assert line.startswith("database: ") and "no dispatch-tui schema" in line
