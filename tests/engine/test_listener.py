"""The delivery-report listener: token, bounded body, bad parameters, unknown
ids, failing handlers, and the inbound-SMS route (attacks: tests/security)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from dispatch_tui.domain.reply_policy import SenderId
from dispatch_tui.engine.listener import DeliveryReport, InboundSms, Listener

TOKEN = "listener-test-token_0123456789abcdefXYZ"


@dataclass
class Reports:
    """A report handler: 404 is an unknown message, 666 a broken database."""

    seen: list[DeliveryReport] = field(default_factory=list)

    async def __call__(self, report: DeliveryReport) -> bool:
        if report.message_id == 666:
            raise RuntimeError("database went away")
        self.seen.append(report)
        return report.message_id != 404


@pytest.fixture
async def served() -> AsyncIterator[tuple[Listener, Reports]]:
    reports = Reports()
    server = Listener(host="127.0.0.1", port=0, token=TOKEN, on_report=reports, max_body=64)
    await server.start()
    yield server, reports
    await server.close()


async def call(server: Listener, path: str, data: bytes | None = None) -> tuple[int, str]:
    """GET, as Kannel calls (with a body when `data` is given)."""
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{server.port}{path}"
        async with session.get(url, data=data) as response:
            return response.status, await response.text()


def as_kannel_calls(server: Listener, message_id: int, status: int) -> str:
    """The path Kannel requests after filling in the report URL's escapes."""
    url = server.report_url().replace("{id}", str(message_id)).replace("%d", str(status))
    url = url.replace("%i", "fake").replace("%A", "ACK%2F")
    return url.split(str(server.port), 1)[1]


async def test_a_report_reaches_the_handler(served: tuple[Listener, Reports]) -> None:
    server, reports = served
    assert server.port > 0
    assert await call(server, as_kannel_calls(server, 7, 1)) == (200, "ok")
    assert reports.seen == [DeliveryReport(7, 1, "smsc=fake reply=ACK/")]
    assert await call(server, "/health") == (200, "ok")


async def test_the_same_report_twice_is_passed_on_twice(served: tuple[Listener, Reports]) -> None:
    """Idempotency is storage's business; the listener does not deduplicate."""
    server, reports = served
    for _ in range(2):
        assert await call(server, as_kannel_calls(server, 8, 8)) == (200, "ok")
    assert reports.seen == [DeliveryReport(8, 8, "smsc=fake reply=ACK/")] * 2


async def test_a_wrong_token_is_refused_and_the_token_never_logged(
    served: tuple[Listener, Reports], caplog: pytest.LogCaptureFixture
) -> None:
    server, reports = served
    with caplog.at_level(logging.DEBUG):
        path = as_kannel_calls(server, 7, 1).replace(TOKEN, TOKEN[:-1] + "X")
        assert (await call(server, path))[0] == 403
        assert (await call(server, "/dlr/?id=1&status=1"))[0] == 404
    assert reports.seen == []
    assert "wrong token" in caplog.text
    assert TOKEN not in caplog.text and TOKEN[:-1] not in caplog.text


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("id=abc&status=1", "'id'"),
        ("status=1", "'id'"),
        ("id=1", "'status'"),
        ("id=1&status=", "'status'"),
        ("id=1&status=%d", "'status'"),
        ("id=99999999999&status=1", "'id'"),
        ("id=1&status=1&id=2", "'id'"),
    ],
)
async def test_bad_parameters_are_400_naming_the_parameter(
    served: tuple[Listener, Reports], query: str, named: str
) -> None:
    server, reports = served
    status, text = await call(server, f"/dlr/{TOKEN}?{query}")
    assert status == 400 and named in text
    assert reports.seen == []


async def test_a_big_body_is_413(served: tuple[Listener, Reports]) -> None:
    server, reports = served
    assert (await call(server, f"/dlr/{TOKEN}?id=1&status=1", data=b"x" * 1000))[0] == 413
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{server.port}/dlr/{TOKEN}?id=1&status=1"
        async with session.post(url) as response:
            assert response.status == 405
    assert await call(server, f"/dlr/{TOKEN}?id=1&status=1", data=b"x" * 10) == (200, "ok")
    assert len(reports.seen) == 1


async def test_an_unknown_message_is_answered_200_and_logged(
    served: tuple[Listener, Reports], caplog: pytest.LogCaptureFixture
) -> None:
    """Kannel retries non-2xx answers; a report for a message we lost never settles."""
    server, _ = served
    with caplog.at_level(logging.WARNING):
        assert await call(server, as_kannel_calls(server, 404, 1)) == (
            200,
            "unknown message, ignored",
        )
    assert "unknown message 404" in caplog.text


async def test_a_failing_handler_is_500_and_the_server_keeps_serving(
    served: tuple[Listener, Reports], caplog: pytest.LogCaptureFixture
) -> None:
    server, reports = served
    with caplog.at_level(logging.ERROR):
        assert (await call(server, as_kannel_calls(server, 666, 1)))[0] == 500
    assert "database went away" in caplog.text
    assert await call(server, as_kannel_calls(server, 9, 1)) == (200, "ok")
    assert [r.message_id for r in reports.seen] == [9]


async def test_report_url_for_kannel() -> None:
    reports = Reports()
    wildcard = Listener(host="0.0.0.0", port=13100, token="t", on_report=reports)
    assert wildcard.report_url() == (
        "http://127.0.0.1:13100/dlr/t?id={id}&status=%d&smsc=%i&reply=%A"
    )
    assert wildcard.report_url("https://engine.example.si/hooks/").startswith(
        "https://engine.example.si/hooks/dlr/t?id={id}&"
    )
    with pytest.raises(ValueError, match="token"):
        Listener(host="127.0.0.1", port=0, token="", on_report=reports)


async def test_routes_can_be_added_before_start() -> None:
    server = Listener(host="127.0.0.1", port=0, token=TOKEN, on_report=Reports())

    async def extra(_request: web.Request) -> web.Response:
        return web.Response(text="extra")

    server.app.router.add_get("/extra", extra)
    await server.start()
    try:
        assert await call(server, "/extra") == (200, "extra")
    finally:
        await server.close()


async def test_inbound_sms_route() -> None:
    seen: list[InboundSms] = []

    async def on_inbound(sms: InboundSms) -> None:
        if sms.text == "bad":
            raise ValueError("not an inbound SMS")
        seen.append(sms)

    async def sender_ids() -> list[SenderId]:
        return [SenderId("1234", "SI")]

    server = Listener(
        host="127.0.0.1",
        port=0,
        token=TOKEN,
        on_report=Reports(),
        on_inbound=on_inbound,
        sender_ids=sender_ids,
    )
    await server.start()
    try:
        path = server.inbound_url().split(str(server.port), 1)[1]
        assert path.startswith(f"/mo/{TOKEN}?")
        ok = f"/mo/{TOKEN}?from=%2B38640111222&to=1234&text=6-123456+PRIJAVA&id=k-1"
        assert await call(server, ok) == (200, "")
        assert seen == [InboundSms("+38640111222", "1234", "6-123456 PRIJAVA", "k-1")]
        assert await call(server, ok.replace("to=1234", "to=4321")) == (200, "")
        assert seen[-1].no_reply == "it was not sent to a utility's sender id"
        assert (await call(server, ok.replace(TOKEN, "x")))[0] == 403
        status, text = await call(server, f"/mo/{TOKEN}?from=38640111222")
        assert status == 400 and "'text'" in text
        status, text = await call(server, f"/mo/{TOKEN}?from=bad&text=x")
        assert status == 400 and "not a phone number" in text
        status, text = await call(server, f"/mo/{TOKEN}?from=38640111222&text=bad")
        assert (status, text) == (400, "not an inbound SMS")
    finally:
        await server.close()
    assert len(seen) == 2
