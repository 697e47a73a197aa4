"""Several `dispatch-tui engine` processes on one database, against a local
gateway that counts what it receives: each message exactly once; and a
`kill -9` mid-send loses nothing, with duplicates only among messages whose
outcome was unknown, each one counted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from dispatch_tui.storage.tables import delivery_event, engine_process, message
from tests.engine.factory import make_outbox, message_states
from tests.engine.fake_gateway import ACCEPT, FakeKannel, Reply

pytestmark = pytest.mark.slow


def engine_env(db_url: str, gateway: FakeKannel, home: Path, **extra: str) -> dict[str, str]:
    """The engines' environment; their config and data folders (audit key, anchors)
    live under `home`, never in the tester's own."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_TUI_")}
    env.update(
        {
            "DISPATCH_TUI_CONFIG": "/dev/null",
            "DISPATCH_TUI_DATABASE_URL": db_url,
            "DISPATCH_TUI_SMS_GATEWAY": "kannel",
            "DISPATCH_TUI_SMS_KANNEL_URL": gateway.url,
            "DISPATCH_TUI_SMS_KANNEL_PASSWORD": "secret",
            "DISPATCH_TUI_SMS_RATE": "5000",
            "DISPATCH_TUI_ENGINE_LISTEN_PORT": "0",
            "DISPATCH_TUI_ENGINE_REPORT_TOKEN": "shared-token-of-the-three-engines-0123456789",
            "DISPATCH_TUI_EMAIL_GATEWAY": "sandbox",
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
        }
    )
    env.update({f"DISPATCH_TUI_{k.upper()}": v for k, v in extra.items()})
    return env


@contextmanager
def engines(count: int, env: dict[str, str], logs: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", "from dispatch_tui.cli import main; main()", "engine"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(logs / f"engine-{i}.log").open("wb"),
        )
        for i in range(count)
    ]
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def wait_for(condition: object, timeout: float, logs: Path, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return
        time.sleep(0.2)
    tails = "\n".join(p.read_text()[-2000:] for p in sorted(logs.glob("*.log")))
    pytest.fail(f"timed out waiting for {what}\n{tails}")


@pytest.fixture
def gateway() -> Iterator[FakeKannel]:
    fake = FakeKannel().start()
    yield fake
    fake.stop()


def test_three_engines_send_each_message_exactly_once(
    engine: Engine, db_url: str, gateway: FakeKannel, tmp_path: Path
) -> None:
    count = 10_000
    notice_id = make_outbox(engine, count)
    with engines(3, engine_env(db_url, gateway, tmp_path), tmp_path) as procs:
        wait_for(
            lambda: message_states(engine, notice_id) == {"sent": count},
            180,
            tmp_path,
            "all messages sent",
        )
        assert all(p.poll() is None for p in procs), "an engine died"
    received = gateway.counts()
    assert len(received) == count
    assert set(received.values()) == {1}
    with engine.connect() as conn:
        stopped = conn.execute(
            select(func.count()).where(engine_process.c.stopped_at.is_not(None))
        ).scalar_one()
    assert stopped == 3


def test_kill_9_mid_send_loses_nothing_and_counts_its_duplicates(
    engine: Engine, db_url: str, tmp_path: Path
) -> None:
    count = 2_000
    notice_id = make_outbox(engine, count)
    slow = Reply(delay=0.05)
    gateway = FakeKannel(lambda n: slow if n <= count else ACCEPT).start()
    env = engine_env(
        db_url,
        gateway,
        tmp_path,
        delivery_lease_seconds="5",
        delivery_unknown_resend_seconds="1",
    )
    try:
        with engines(1, env, tmp_path) as [first]:
            wait_for(lambda: gateway.requests >= 300, 60, tmp_path, "sending under way")
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)
        assert message_states(engine, notice_id).get("sending", 0) > 0
        restart_logs = tmp_path / "restart"
        restart_logs.mkdir()
        with engines(1, env, restart_logs) as [_second]:
            wait_for(
                lambda: message_states(engine, notice_id) == {"sent": count},
                120,
                tmp_path,
                "all messages sent after the restart",
            )
    finally:
        gateway.stop()
    received = gateway.counts()
    assert len(received) == count, "a message was lost"
    duplicates = {key for key, n in received.items() if n > 1}
    with engine.connect() as conn:
        were_unknown = {
            str(i)
            for i in conn.execute(
                select(delivery_event.c.message_id).where(delivery_event.c.status == "unknown")
            ).scalars()
        }
        resends = conn.execute(
            select(func.count()).where(delivery_event.c.status == "resend")
        ).scalar_one()
        resent_ids = {
            str(i)
            for i in conn.execute(select(message.c.id).where(message.c.attempts > 1)).scalars()
        }
    assert duplicates <= were_unknown
    assert len(duplicates) <= resends == len(resent_ids & were_unknown)
