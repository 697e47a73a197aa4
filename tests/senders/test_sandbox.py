"""Sandbox sender: seeded outcome shares, in-process reports, labelling."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from dispatch_tui.senders.base import OutgoingMessage, SenderError
from dispatch_tui.senders.sandbox import SandboxSender


def msg(i: int) -> OutgoingMessage:
    return OutgoingMessage(id=i, channel="sms", address="+38640111222", body="Izklop")


def test_label_always_marks_sandbox() -> None:
    for channel in ("sms", "email", "telegram", "viber"):
        sender = SandboxSender(channel)
        assert sender.label.startswith("SANDBOX")
        assert sender.channel == channel
    assert SandboxSender("sms").label == "SANDBOX SMS"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"failure_rate": 1.5},
        {"unknown_rate": -0.1},
        {"failure_rate": 0.6, "unknown_rate": 0.6},
        {"latency": -1.0},
    ],
)
def test_invalid_configuration(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SandboxSender("sms", **kwargs)


async def test_rates_roughly_respected_and_refs_unique() -> None:
    sender = SandboxSender("sms", failure_rate=0.1, unknown_rate=0.05, seed=42)
    outcomes = [await sender.send(msg(i)) for i in range(1000)]
    counts = Counter(o.status for o in outcomes)
    assert 70 <= counts["failed"] <= 130
    assert 25 <= counts["unknown"] <= 75
    assert counts["sent"] == 1000 - counts["failed"] - counts["unknown"]
    refs = [o.gateway_ref for o in outcomes if o.status == "sent"]
    assert all(r is not None and r.startswith("sandbox-") for r in refs)
    assert len(set(refs)) == len(refs)
    assert all("SANDBOX" in o.reason for o in outcomes if o.status != "sent")
    await sender.close()


async def test_same_seed_same_statuses() -> None:
    a = SandboxSender("sms", failure_rate=0.3, unknown_rate=0.2, seed=5)
    b = SandboxSender("sms", failure_rate=0.3, unknown_rate=0.2, seed=5)
    assert [(await a.send(msg(i))).status for i in range(100)] == [
        (await b.send(msg(i))).status for i in range(100)
    ]


async def test_reports_arrive_for_sent_messages() -> None:
    reports: list[tuple[int, str]] = []

    async def on_report(message_id: int, status: str) -> None:
        reports.append((message_id, status))

    sender = SandboxSender(
        "sms",
        seed=1,
        on_report=on_report,
        report_delay=0.01,
        report_failure_rate=0.3,
        failure_rate=0.2,
    )
    outcomes = {i: await sender.send(msg(i)) for i in range(200)}
    await asyncio.sleep(0.1)
    sent = {i for i, o in outcomes.items() if o.status == "sent"}
    assert {message_id for message_id, _ in reports} == sent
    statuses = Counter(status for _, status in reports)
    assert set(statuses) == {"delivered", "failed"}
    assert 0.15 < statuses["failed"] / len(reports) < 0.45
    assert sender.pending_reports == 0
    await sender.close()


async def test_report_callback_errors_are_contained(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(message_id: int, status: str) -> None:
        raise RuntimeError("db down")

    sender = SandboxSender("sms", on_report=broken)
    await sender.send(msg(1))
    await asyncio.sleep(0.01)
    assert "delivery report" in caplog.text
    await sender.close()


async def test_close_cancels_pending_reports() -> None:
    reports: list[int] = []

    async def on_report(message_id: int, status: str) -> None:
        reports.append(message_id)

    sender = SandboxSender("sms", on_report=on_report, report_delay=10.0)
    for i in range(5):
        await sender.send(msg(i))
    assert sender.pending_reports == 5
    await sender.close()
    assert sender.pending_reports == 0
    await asyncio.sleep(0.01)
    assert reports == []
    with pytest.raises(SenderError):
        await sender.send(msg(9))


async def test_latency_is_simulated() -> None:
    sender = SandboxSender("email", latency=0.02)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await sender.send(msg(1))
    assert loop.time() - start >= 0.015
