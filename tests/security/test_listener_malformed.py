"""Malformed input to the listener: each gets a 4xx with a short reason, no traceback in the
answer or the log, and reaches no handler. NUL bytes (which PostgreSQL refuses in text) are
also sent through the real engine on SQLite and PostgreSQL: nothing is stored."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import Engine, func, select

from dispatch_tui.domain.bot_updates import ChatText
from dispatch_tui.domain.reply_policy import SenderId
from dispatch_tui.engine.listener import DeliveryReport, InboundSms, Listener
from dispatch_tui.storage.tables import bot_chat, delivery_event, inbound_message
from tests.security.conftest import (
    TELEGRAM_SECRET,
    TOKEN,
    VIBER_TOKEN,
    get,
    listening,
    post,
    raw_http,
    settings,
)

T = TOKEN.encode()
SECRET = b"X-Telegram-Bot-Api-Secret-Token: " + TELEGRAM_SECRET.encode()


@dataclass
class Calls:
    """Every handler the listener may call, recording what reached it."""

    seen: list[object] = field(default_factory=list)

    async def report(self, report: DeliveryReport) -> bool:
        self.seen.append(report)
        return True

    async def inbound(self, sms: InboundSms) -> None:
        self.seen.append(sms)

    async def chat(self, channel: str, text: ChatText) -> None:
        self.seen.append((channel, text))

    async def senders(self) -> list[SenderId]:
        return [SenderId("ElektroGor", "SI")]


@pytest.fixture
async def served() -> AsyncIterator[tuple[Listener, Calls]]:
    calls = Calls()
    server = Listener(
        host="127.0.0.1",
        port=0,
        token=TOKEN,
        on_report=calls.report,
        on_inbound=calls.inbound,
        on_chat=calls.chat,
        sender_ids=calls.senders,
        telegram_secret=TELEGRAM_SECRET,
        viber_token=VIBER_TOKEN,
    )
    await server.start()
    yield server, calls
    await server.close()


def signed(body: bytes, key: str = VIBER_TOKEN) -> bytes:
    digest = hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return b"X-Viber-Content-Signature: " + digest.encode()


def update(text: Any = "hi", update_id: Any = 1, chat: Any = 5) -> bytes:
    message = {"message_id": 1, "chat": {"id": chat, "type": "private"}, "text": text}
    return json.dumps({"update_id": update_id, "message": message}).encode()


DEEP = b"[" * 5000 + b"]" * 5000
DEEP_UPDATE = b'{"update_id": 1, "message": ' + b"[" * 5000 + b"]" * 5000 + b"}"
VIBER_DEEP = b'{"event":"message","timestamp":1,"x":' + b"[" * 5000 + b"]" * 5000 + b"}"
VIBER_NUL = json.dumps(
    {"event": "message", "timestamp": 1, "sender": {"id": "U1="}, "message": {"text": "a\0"}}
).encode()

ATTACKS: dict[str, tuple[bytes, int]] = {
    "dlr id beyond int64": (get(b"/dlr/" + T + b"?id=99999999999999999999&status=1"), 400),
    "dlr id of 4,000 digits": (get(b"/dlr/" + T + b"?id=" + b"7" * 4000 + b"&status=1"), 400),
    "dlr id beyond the id column": (get(b"/dlr/" + T + b"?id=2147483648&status=1"), 400),
    "dlr status beyond int64": (get(b"/dlr/" + T + b"?id=1&status=" + b"9" * 30), 400),
    "dlr id negative": (get(b"/dlr/" + T + b"?id=-1&status=1"), 400),
    "dlr id with underscores": (get(b"/dlr/" + T + b"?id=1_000&status=1"), 400),
    "dlr id twice": (get(b"/dlr/" + T + b"?id=1&id=2&status=1"), 400),
    "dlr NUL in smsc": (get(b"/dlr/" + T + b"?id=1&status=1&smsc=a%00b"), 400),
    "dlr invalid UTF-8": (get(b"/dlr/" + T + b"?id=1&status=1&reply=%FF%FE"), 400),
    "mo NUL in text": (get(b"/mo/" + T + b"?from=38640111222&to=ElektroGor&text=a%00b"), 400),
    "mo NUL in from": (get(b"/mo/" + T + b"?from=386%0040111222&text=x"), 400),
    "mo invalid UTF-8 text": (get(b"/mo/" + T + b"?from=38640111222&text=%C3%28"), 400),
    "mo from not a number": (get(b"/mo/" + T + b"?from=%E2%82%AC1&text=x"), 400),
    "mo over-long gateway id": (
        get(b"/mo/" + T + b"?from=38640111222&text=x&id=" + b"i" * 65),
        400,
    ),
    "mo over-long text": (get(b"/mo/" + T + b"?from=38640111222&text=" + b"x" * 2001), 400),
    "mo over-long query": (get(b"/mo/" + T + b"?from=38640111222&text=x&pad=" + b"p" * 5000), 414),
    "mo over-long URL": (get(b"/mo/" + T + b"?from=38640111222&text=" + b"x" * 9000), 400),
    "path token of invalid UTF-8": (get(b"/dlr/%FF%FE?id=1&status=1"), 403),
    "path token with NUL": (get(b"/dlr/" + T + b"%00?id=1&status=1"), 403),
    "telegram body not UTF-8": (post(b"/telegram/" + T, b'{"x":"\xff"}', SECRET), 400),
    "telegram JSON 5,000 deep": (post(b"/telegram/" + T, DEEP, SECRET), 400),
    "telegram update 5,000 deep": (post(b"/telegram/" + T, DEEP_UPDATE, SECRET), 400),
    "telegram update_id beyond int64": (
        post(b"/telegram/" + T, update(update_id=2**70), SECRET),
        400,
    ),
    "telegram update_id of 5,000 digits": (
        post(b"/telegram/" + T, b'{"update_id": ' + b"9" * 5000 + b"}", SECRET),
        400,
    ),
    "telegram chat id beyond int64": (post(b"/telegram/" + T, update(chat=-(2**80)), SECRET), 400),
    "telegram NUL in text": (post(b"/telegram/" + T, update("a\0b"), SECRET), 400),
    "telegram lone surrogate": (post(b"/telegram/" + T, b'{"x": "\\ud800"}', SECRET), 400),
    "telegram non-ASCII secret header": (
        post(b"/telegram/" + T, update(), b"X-Telegram-Bot-Api-Secret-Token: \xc3\xa9\xff"),
        403,
    ),
    "telegram body too big": (post(b"/telegram/" + T, b" " * 20_000 + b"{}", SECRET), 413),
    "telegram compressed body": (
        post(b"/telegram/" + T, update(), SECRET, b"Content-Encoding: gzip"),
        415,
    ),
    "viber non-ASCII signature header": (
        post(b"/viber/" + T, b"{}", b"X-Viber-Content-Signature: \xc3\xa9" + b"0" * 62),
        403,
    ),
    "viber signature not hex": (
        post(b"/viber/" + T, b"{}", b"X-Viber-Content-Signature: " + b"z" * 64),
        403,
    ),
    "viber signed JSON 5,000 deep": (post(b"/viber/" + T, VIBER_DEEP, signed(VIBER_DEEP)), 400),
    "viber signed NUL": (post(b"/viber/" + T, VIBER_NUL, signed(VIBER_NUL)), 400),
    "viber signed invalid UTF-8": (post(b"/viber/" + T, b'{"\xff"}', signed(b'{"\xff"}')), 400),
    "viber signed without timestamp": (
        post(b"/viber/" + T, b'{"event":"webhook"}', signed(b'{"event":"webhook"}')),
        400,
    ),
}


@pytest.mark.parametrize("attack", list(ATTACKS))
async def test_malformed_input_is_a_short_4xx_without_traceback(
    served: tuple[Listener, Calls], attack: str, caplog: pytest.LogCaptureFixture
) -> None:
    server, calls = served
    request, expected = ATTACKS[attack]
    with caplog.at_level(logging.DEBUG):
        status, body = await raw_http(server.port, request)
    assert status == expected, body
    assert len(body) < 200 and b"Traceback" not in body and b"Error" not in body[:20]
    assert calls.seen == []
    assert "Traceback" not in caplog.text
    assert TOKEN not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


ROUTES = {
    b"/health": b"GET",
    b"/dlr/" + T + b"?id=1&status=1": b"GET",
    b"/mo/" + T + b"?from=38640111222&text=x": b"GET",
    b"/telegram/" + T: b"POST",
    b"/viber/" + T: b"POST",
}


@pytest.mark.parametrize("path", list(ROUTES))
@pytest.mark.parametrize("method", [b"GET", b"POST", b"PUT", b"DELETE", b"PATCH", b"HEAD"])
async def test_only_the_method_each_route_needs(
    served: tuple[Listener, Calls], path: bytes, method: bytes
) -> None:
    server, calls = served
    if method == ROUTES[path] or (path == b"/health" and method == b"HEAD"):
        return
    request = method + b" " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    status, _ = await raw_http(server.port, request + b"Content-Length: 0\r\n\r\n")
    assert status == 405
    assert calls.seen == []


def count(db: Engine, table: Any) -> int:
    with db.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


async def test_nul_bytes_are_refused_before_the_database(engine: Engine) -> None:
    """On PostgreSQL a NUL in a text column is an error; on both it is refused at the door."""
    config = settings(
        telegram_token="1:X", telegram_updates="webhook", telegram_webhook_secret=TELEGRAM_SECRET
    )
    async with listening(engine, config) as delivery:
        assert delivery.listener is not None
        port = delivery.listener.port
        mo = b"/mo/" + T + b"?from=38640111222&to=ElektroGor&text=6-100001%00PRIJAVA&id=k%001"
        assert (await raw_http(port, get(mo)))[0] == 400
        assert (await raw_http(port, get(b"/dlr/" + T + b"?id=1&status=1&reply=%00")))[0] == 400
        nul = post(b"/telegram/" + T, update("/start\0"), SECRET)
        assert (await raw_http(port, nul))[0] == 400
        assert count(engine, inbound_message) == count(engine, bot_chat) == 0
        # The same requests without the NUL reach the database.
        assert (await raw_http(port, get(mo.replace(b"%00", b"+"))))[0] == 200
        assert (await raw_http(port, post(b"/telegram/" + T, update("/start"), SECRET)))[0] == 200
    assert count(engine, inbound_message) >= 1
    assert count(engine, bot_chat) == 1
    assert count(engine, delivery_event) == 0
