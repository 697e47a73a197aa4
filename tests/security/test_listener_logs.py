"""The report token never reaches a log: not the access log (the path shows ***, the query
with its phone numbers not at all), not aiohttp's error log for an over-long URL, not a
handler's traceback, not the engine's start-up line. Wrong tokens are logged once a minute
with a count, not once per request."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from sqlalchemy import Engine

from dispatch_tui.engine.headless import run_headless
from dispatch_tui.engine.listener import DeliveryReport, InboundSms, Listener
from tests.security.conftest import TOKEN, get, raw_http, settings

NEAR_MISS = TOKEN[:-1] + "X"
REFUSAL_PERIOD = 2.0
"""Long enough for a burst of 50 local requests on a loaded machine (0.3 s was not)."""


@dataclass
class Handlers:
    inbound: list[InboundSms] = field(default_factory=list)

    async def report(self, report: DeliveryReport) -> bool:
        return True

    async def on_inbound(self, sms: InboundSms) -> None:
        if sms.text == "crash":
            raise RuntimeError(f"cannot handle http://127.0.0.1/mo/{TOKEN}?from={sms.sender}")
        self.inbound.append(sms)


@pytest.fixture
async def served() -> AsyncIterator[Listener]:
    handlers = Handlers()
    server = Listener(
        host="127.0.0.1",
        port=0,
        token=TOKEN,
        on_report=handlers.report,
        on_inbound=handlers.on_inbound,
        refusal_log_seconds=REFUSAL_PERIOD,
    )
    await server.start()
    yield server
    await server.close()


async def fetch(server: Listener, path: str) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{server.port}{path}") as response,
    ):
        return response.status, await response.text()


def leaked(caplog: pytest.LogCaptureFixture) -> bool:
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    return TOKEN in text or NEAR_MISS in text or TOKEN[:20] in text


async def test_the_access_log_shows_the_path_without_token_or_query(
    served: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        assert (await fetch(served, f"/dlr/{TOKEN}?id=7&status=1"))[0] == 200
        sms = f"/mo/{TOKEN}?from=%2B38640111222&to=ElektroGor&text=6-100001+PRIJAVA"
        assert (await fetch(served, sms))[0] == 200
        assert (await fetch(served, f"/dlr/{NEAR_MISS}?id=7&status=1"))[0] == 403
    access = [r.getMessage() for r in caplog.records if r.name.endswith(".access")]
    assert len(access) == 3
    assert '"GET /dlr/***" 200' in access[0] and '"GET /mo/***" 200' in access[1]
    assert '"GET /dlr/***" 403' in access[2]
    assert "38640111222" not in caplog.text and "PRIJAVA" not in caplog.text
    assert not leaked(caplog)


async def test_an_over_long_inbound_url_is_refused_and_logged_without_the_token(
    served: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    path = f"/mo/{TOKEN}?from=38640111222&text=".encode() + b"A" * 9000
    with caplog.at_level(logging.DEBUG):
        status, _ = await raw_http(served.port, get(path))
        assert status == 400
        status, _ = await raw_http(served.port, get(b"/mo/" + TOKEN.encode() + b"\x00?"))
        assert 400 <= status < 500
    assert not leaked(caplog)
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("LineTooLong" in r.getMessage() for r in caplog.records)
    assert "38640111222" not in caplog.text


async def test_a_failing_handler_is_logged_with_the_token_redacted(
    served: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        status, text = await fetch(served, f"/mo/{TOKEN}?from=38640111222&text=crash")
    assert (status, text) == (500, "not handled")
    assert "cannot handle http://127.0.0.1/mo/***?…" in caplog.text
    assert "38640111222" not in caplog.text
    assert "Traceback" in caplog.text  # a real fault keeps its traceback
    assert not leaked(caplog)


def wrong_token_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "wrong token" in r.getMessage()]


async def lines_logged(caplog: pytest.LogCaptureFixture, count: int) -> None:
    """Until `count` wrong-token lines are logged (the next period's), at most three periods."""
    for _ in range(int(3 * REFUSAL_PERIOD / 0.05)):
        if len(wrong_token_lines(caplog)) >= count:
            return
        await asyncio.sleep(0.05)


async def test_wrong_tokens_are_logged_once_per_period_with_a_count(
    served: Listener, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="dispatch_tui.engine.listener"):
        async with aiohttp.ClientSession() as session:
            for i in range(50):
                url = f"http://127.0.0.1:{served.port}/dlr/{NEAR_MISS}{i}?id=1&status=1"
                async with session.get(url) as response:
                    assert response.status == 403
        assert wrong_token_lines(caplog) == ["delivery report with a wrong token from 127.0.0.1"]
        await lines_logged(caplog, 2)
        async with aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{served.port}/mo/{NEAR_MISS}?from=1&text=x"
            async with session.get(url) as response:
                assert response.status == 403
        await lines_logged(caplog, 3)
    assert wrong_token_lines(caplog) == [
        "delivery report with a wrong token from 127.0.0.1",
        "delivery report with a wrong token: 49 more in the last 2 s (latest from 127.0.0.1)",
        "inbound SMS with a wrong token: 1 more in the last 2 s (latest from 127.0.0.1)",
    ]
    assert not leaked(caplog)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_the_engine_logs_its_urls_with_the_token_masked(
    engine: Engine, caplog: pytest.LogCaptureFixture
) -> None:
    config = settings(engine_public_url="https://engine.example.si/hooks")
    with caplog.at_level(logging.INFO):
        task = asyncio.create_task(run_headless(engine, config))
        for _ in range(200):
            if "listening on" in caplog.text:
                break
            await asyncio.sleep(0.05)
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(task, 30)
    line = next(r.getMessage() for r in caplog.records if "listening on" in r.getMessage())
    assert "https://engine.example.si/hooks/dlr/***?id={id}&status=%d" in line
    assert "https://engine.example.si/hooks/mo/***?from=%p" in line
    assert not leaked(caplog)
