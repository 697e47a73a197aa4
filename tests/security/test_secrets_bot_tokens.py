"""Bot tokens stay out of the logs: httpx logs every request URL at INFO, and Telegram's URL
holds the bot token; Viber's token travels in a header. A send, a failed send and a polling
round at DEBUG leave neither token in the captured log, nor in a failure reason (which is
stored and shown on the monitor)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import httpx
import pytest

from dispatch_tui.domain.bot_updates import ChatText
from dispatch_tui.engine.bots import TelegramPoller
from dispatch_tui.senders.base import OutgoingMessage
from dispatch_tui.senders.bot_api import redact_bot_token
from dispatch_tui.senders.telegram import TelegramSender
from dispatch_tui.senders.viber import ViberSender
from tests.security.conftest import BOT_TOKEN, VIBER_TOKEN


def ok(request: httpx.Request) -> httpx.Response:
    if "getUpdates" in request.url.path:
        return httpx.Response(200, json={"ok": True, "result": []})
    if request.url.host == "chatapi.viber.com":
        return httpx.Response(200, json={"status": 0, "message_token": 1})
    return httpx.Response(200, json={"ok": True, "result": {"message_id": 1}})


def unreachable(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError(f"cannot reach {request.url}", request=request)


def broken(request: httpx.Request) -> httpx.Response:
    raise httpx.RemoteProtocolError(f"peer closed while sending {request.url}", request=request)


def message(channel: str) -> OutgoingMessage:
    return OutgoingMessage(1, channel, "555", "Načrtovan izklop")


def tokens_in(caplog: pytest.LogCaptureFixture) -> list[str]:
    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    return [t for t in (BOT_TOKEN, BOT_TOKEN.split(":")[1], VIBER_TOKEN) if t in text]


@pytest.mark.parametrize("level", [logging.DEBUG, logging.INFO])
async def test_a_telegram_send_logs_no_token(caplog: pytest.LogCaptureFixture, level: int) -> None:
    with caplog.at_level(level):
        sender = TelegramSender(token=BOT_TOKEN, transport=httpx.MockTransport(ok))
        assert (await sender.send(message("telegram"))).status == "sent"
        await sender.close()
    requests = [r.getMessage() for r in caplog.records if r.name == "httpx"]
    assert requests == [
        'HTTP Request: POST https://api.telegram.org/bot***/sendMessage "HTTP/1.1 200 OK"'
    ]
    assert tokens_in(caplog) == []


@pytest.mark.parametrize("transport", [unreachable, broken])
async def test_a_failed_telegram_send_keeps_the_token_out_of_its_reason(
    caplog: pytest.LogCaptureFixture, transport: Callable[[httpx.Request], httpx.Response]
) -> None:
    with caplog.at_level(logging.DEBUG):
        sender = TelegramSender(token=BOT_TOKEN, transport=httpx.MockTransport(transport))
        outcome = await sender.send(message("telegram"))
        await sender.close()
    assert outcome.status in ("retry", "unknown")
    assert "bot***" in outcome.reason and BOT_TOKEN not in outcome.reason
    assert tokens_in(caplog) == []


async def test_a_viber_send_logs_no_token(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return ok(request)

    with caplog.at_level(logging.DEBUG):
        sender = ViberSender(
            token=VIBER_TOKEN, sender_name="Test", transport=httpx.MockTransport(handler)
        )
        assert (await sender.send(message("viber"))).status == "sent"
        await sender.close()
    assert seen[0].headers["X-Viber-Auth-Token"] == VIBER_TOKEN  # it is sent, just not logged
    assert any(r.name == "httpx" for r in caplog.records)
    assert tokens_in(caplog) == []


async def test_polling_logs_no_token(caplog: pytest.LogCaptureFixture) -> None:
    async def on_text(_channel: str, _text: ChatText) -> None:
        return None

    with caplog.at_level(logging.DEBUG):
        poller = TelegramPoller(token=BOT_TOKEN, on_text=on_text, transport=httpx.MockTransport(ok))
        assert await poller.poll_once() == 0
        await poller.close()
    assert any("bot***/getUpdates" in r.getMessage() for r in caplog.records)
    assert tokens_in(caplog) == []


def test_httpcore_trace_stays_quiet_under_a_debug_root() -> None:
    """`dispatch-tui engine -v` sets the root logger to DEBUG; httpcore's trace (request and
    response headers) must still not be emitted."""
    assert logging.getLogger("httpcore.http11").getEffectiveLevel() >= logging.INFO


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (f"POST https://api.telegram.org/bot{BOT_TOKEN}/sendMessage", "/bot***/sendMessage"),
        (f"'https://api.telegram.org/bot{BOT_TOKEN}'", "/bot***'"),
        ("https://chatapi.viber.com/pa/send_message", "/pa/send_message"),
    ],
)
def test_redact_bot_token(text: str, shown: str) -> None:
    assert shown in redact_bot_token(text)
    assert BOT_TOKEN not in redact_bot_token(text)


async def test_a_failing_poll_logs_no_bot_token(caplog: pytest.LogCaptureFixture) -> None:
    """A transport error names the request URL, which carries the token."""

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    async def ignore(channel: str, text: ChatText) -> None:
        return None

    poller = TelegramPoller(
        token=BOT_TOKEN,
        on_text=ignore,
        base_url="http://127.0.0.1:9",
        transport=httpx.MockTransport(refuse),
        retry_seconds=0.01,
    )
    caplog.set_level(logging.DEBUG)
    task = asyncio.create_task(poller.run())
    await asyncio.sleep(0.1)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    await poller.close()
    assert "Telegram polling" in caplog.text
    assert BOT_TOKEN.split(":")[1] not in caplog.text
