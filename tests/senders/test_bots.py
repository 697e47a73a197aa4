"""Telegram and Viber senders against the documented request and response
shapes (shared/recipes/bots.md), on httpx's mock transport."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import Engine, select

from dispatch_tui.senders.base import OutgoingMessage
from dispatch_tui.senders.telegram import TelegramSender
from dispatch_tui.senders.viber import ViberSender
from dispatch_tui.storage.tables import contact
from tests.engine.conftest import running, until
from tests.engine.factory import make_outbox, message_states

Handler = Callable[[httpx.Request], httpx.Response]


def note(address: str = "123456789") -> OutgoingMessage:
    return OutgoingMessage(7, "telegram", address, "Načrtovan izklop 3.12. 8:00–12:00")


def telegram(handler: Handler) -> TelegramSender:
    return TelegramSender(token="42:SECRET", transport=httpx.MockTransport(handler))


async def test_telegram_request_shape_and_success() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"ok": True, "result": {"message_id": 99, "chat": {"id": 123456789}}}
        )

    sender = telegram(handler)
    outcome = await sender.send(note())
    await sender.close()
    assert outcome.status == "sent" and outcome.gateway_ref == "telegram:99"
    [request] = seen
    assert request.method == "POST"
    assert request.url.path == "/bot42:SECRET/sendMessage"
    assert json.loads(request.content) == {
        "chat_id": "123456789",
        "text": "Načrtovan izklop 3.12. 8:00–12:00",
    }


@pytest.mark.parametrize(
    ("status", "body", "expected", "retry_after", "gone"),
    [
        (
            429,
            {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 17",
                "parameters": {"retry_after": 17},
            },
            "retry",
            17.0,
            False,
        ),
        (
            403,
            {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            },
            "failed",
            None,
            True,
        ),
        (
            403,
            {"ok": False, "error_code": 403, "description": "Forbidden: user is deactivated"},
            "failed",
            None,
            True,
        ),
        (
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"},
            "failed",
            None,
            True,
        ),
        (
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"},
            "failed",
            None,
            False,
        ),
        (502, "<html>Bad Gateway</html>", "retry", None, False),
        (200, "not json at all", "retry", None, False),
        (200, ["a", "list"], "retry", None, False),
    ],
)
async def test_telegram_answers(
    status: int, body: object, expected: str, retry_after: float | None, gone: bool
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(body, str):
            return httpx.Response(status, text=body)
        return httpx.Response(status, json=body)

    sender = telegram(handler)
    outcome = await sender.send(note())
    await sender.close()
    assert (outcome.status, outcome.retry_after, outcome.contact_gone) == (
        expected,
        retry_after,
        gone,
    )


async def test_telegram_unreachable_is_transient() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    sender = telegram(handler)
    assert (await sender.send(note())).status == "retry"
    await sender.close()


def viber(handler: Handler) -> ViberSender:
    return ViberSender(
        token="VIBER-TOKEN",
        sender_name="Закарпаттяобленерго — повідомлення",
        transport=httpx.MockTransport(handler),
    )


async def test_viber_request_shape_and_errors_inside_http_200() -> None:
    seen: list[httpx.Request] = []
    answers = iter(
        [
            {"status": 0, "status_message": "ok", "message_token": 5741311803571721087},
            {"status": 6, "status_message": "notSubscribed"},
            {"status": 12, "status_message": "tooManyRequests"},
            {"status": 2, "status_message": "invalidAuthToken"},
            {"status": 3, "status_message": "badData"},
            {"no": "status"},
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=next(answers))

    sender = viber(handler)
    outcomes = [await sender.send(note("01234567890A=")) for _ in range(6)]
    await sender.close()
    assert [(o.status, o.contact_gone) for o in outcomes] == [
        ("sent", False),
        ("failed", True),
        ("retry", False),
        ("retry", False),
        ("failed", False),
        ("retry", False),
    ]
    assert outcomes[0].gateway_ref == "viber:5741311803571721087"
    request = seen[0]
    assert request.url == "https://chatapi.viber.com/pa/send_message"
    assert request.headers["X-Viber-Auth-Token"] == "VIBER-TOKEN"
    payload = json.loads(request.content)
    assert payload["receiver"] == "01234567890A=" and payload["type"] == "text"
    assert len(payload["sender"]["name"]) <= 28 and payload["min_api_version"] == 1


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_a_user_who_blocked_the_bot_is_never_messaged_again(engine: Engine) -> None:
    notice_id = make_outbox(engine, 3, channel="telegram")

    def handler(request: httpx.Request) -> httpx.Response:
        chat = json.loads(request.content)["chat_id"]
        if chat.endswith("0"):
            return httpx.Response(
                403, json={"ok": False, "description": "Forbidden: bot was blocked by the user"}
            )
        return httpx.Response(200, json={"ok": True, "result": {"message_id": 1}})

    async with running(engine, {"telegram": telegram(handler)}):
        await until(
            lambda: message_states(engine, notice_id) == {"sent": 2, "failed": 1},
            what="two sent, one blocked",
        )
        await until(lambda: "opted_out" in consents(engine), what="the blocked contact disabled")
    assert sorted(consents(engine)) == ["opted_in", "opted_in", "opted_out"]


def consents(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(select(contact.c.consent).where(contact.c.channel == "telegram")).scalars()
        )
