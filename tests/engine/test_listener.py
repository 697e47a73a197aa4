"""The delivery-report listener: token, bounded body, bad parameters, unknown ids."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import pytest

from dispatch_tui.engine.listener import DeliveryReport, InboundSms, Listener


@pytest.fixture
async def listener() -> AsyncIterator[tuple[Listener, list[DeliveryReport]]]:
    reports: list[DeliveryReport] = []

    async def on_report(report: DeliveryReport) -> bool:
        if report.message_id == 666:
            raise RuntimeError("database went away")
        reports.append(report)
        return report.message_id != 404

    server = Listener(host="127.0.0.1", port=0, token="s3cret", on_report=on_report, max_body=64)
    await server.start()
    yield server, reports
    await server.close()


async def get(server: Listener, path: str, data: bytes | None = None) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        url = f"http://127.0.0.1:{server.port}{path}"
        method = session.post(url, data=data) if data is not None else session.get(url)
        async with method as response:
            return response.status, await response.text()


async def test_reports_need_the_token_and_valid_parameters(
    listener: tuple[Listener, list[DeliveryReport]], caplog: pytest.LogCaptureFixture
) -> None:
    server, reports = listener
    url = server.report_url().replace("%d", "1").replace("%i", "x").replace("%A", "ACK")
    path = url.split(str(server.port), 1)[1].replace("{id}", "7")
    assert await get(server, path) == (200, "ok")
    assert await get(server, path) == (200, "ok")
    assert reports[0] == reports[1] == DeliveryReport(7, 1, "smsc=x reply=ACK")
    assert (await get(server, path.replace("s3cret", "guess")))[0] == 403
    status, text = await get(server, "/dlr/s3cret?id=abc&status=1")
    assert status == 400 and "'id'" in text
    status, text = await get(server, "/dlr/s3cret?id=1")
    assert status == 400 and "'status'" in text
    assert (await get(server, "/dlr/s3cret?id=1&status=1", data=b"x" * 1000))[0] == 413
    with caplog.at_level(logging.WARNING):
        assert await get(server, "/dlr/s3cret?id=404&status=1") == (
            200,
            "unknown message, ignored",
        )
        assert (await get(server, "/dlr/s3cret?id=666&status=1"))[0] == 500
    assert "unknown message 404" in caplog.text
    assert await get(server, "/health") == (200, "ok")
    assert "s3cret" not in caplog.text


async def test_inbound_sms_route() -> None:
    seen: list[InboundSms] = []

    async def on_inbound(sms: InboundSms) -> None:
        if sms.sender == "bad":
            raise ValueError("sender 'bad' is not a phone number")
        seen.append(sms)

    async def on_report(report: DeliveryReport) -> bool:
        return True

    server = Listener(
        host="127.0.0.1", port=0, token="s3cret", on_report=on_report, on_inbound=on_inbound
    )
    await server.start()
    try:
        path = server.inbound_url().split(str(server.port), 1)[1]
        assert path.startswith("/mo/s3cret?")
        ok = "/mo/s3cret?from=%2B38640111222&to=1234&text=6-123456+PRIJAVA&id=k-1"
        assert await get(server, ok) == (200, "")
        assert seen == [InboundSms("+38640111222", "1234", "6-123456 PRIJAVA", "k-1")]
        assert (await get(server, ok.replace("s3cret", "x")))[0] == 403
        status, text = await get(server, "/mo/s3cret?from=1")
        assert status == 400 and "'text'" in text
        status, text = await get(server, "/mo/s3cret?from=bad&text=x")
        assert status == 400 and "not a phone number" in text
    finally:
        await server.close()
