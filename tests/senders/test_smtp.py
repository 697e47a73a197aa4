"""E-mail through a real aiosmtpd server: UTF-8 subject and body intact,
one connection reused, refusals classified."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from dispatch_tui.senders.base import OutgoingMessage
from dispatch_tui.senders.smtp import SmtpSender
from tests.gateways import free_port


class Inbox:
    def __init__(self) -> None:
        self.mails: list[email.message.EmailMessage] = []
        self.sessions: set[int] = set()
        self.refuse: dict[str, str] = {}

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.sessions.add(id(session))
        content = envelope.original_content or b""
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        self.mails.append(parsed)  # type: ignore[arg-type]
        return "250 Message accepted"


@pytest.fixture
def inbox() -> Iterator[tuple[Inbox, int]]:
    handler = Inbox()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def mail(i: int, to: str = "ana.novak@example.si") -> OutgoingMessage:
    return OutgoingMessage(
        i,
        "email",
        to,
        "Spoštovani, načrtovan izklop: Ljubljana, Šišenska 12. Київ, вул. Хрещатик 1.",
        subject="Načrtovan izklop — Київ 3.12.",
    )


async def test_utf8_arrives_intact_over_one_connection(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    sender = SmtpSender(
        host="127.0.0.1", port=port, security="none", from_address="Elektro <o@example.si>"
    )
    outcomes = [await sender.send(mail(i)) for i in range(3)]
    await sender.close()
    assert [o.status for o in outcomes] == ["sent"] * 3
    assert sender.connections == 1 and len(handler.sessions) == 1
    first = handler.mails[0]
    assert first["Subject"] == "Načrtovan izklop — Київ 3.12."
    assert "Šišenska 12. Київ, вул. Хрещатик" in first.get_content()
    assert first["X-Dispatch-Message-Id"] == "0"


async def test_refusals_are_classified_and_a_restart_reconnects(inbox: tuple[Inbox, int]) -> None:
    handler, port = inbox
    handler.refuse = {
        "gone@example.si": "550 No such user",
        "full@example.si": "451 Try again later",
    }
    sender = SmtpSender(host="127.0.0.1", port=port, security="none", from_address="o@example.si")
    gone = await sender.send(mail(1, "gone@example.si"))
    full = await sender.send(mail(2, "full@example.si"))
    assert gone.status == "failed" and "550" in gone.reason
    assert full.status == "retry" and "451" in full.reason
    await sender.close()
    assert (await sender.send(mail(3))).status == "sent"
    assert sender.connections == 2
    await sender.close()


async def test_no_server_is_transient() -> None:
    sender = SmtpSender(
        host="127.0.0.1", port=free_port(), security="none", from_address="o@example.si"
    )
    outcome = await sender.send(mail(1))
    assert outcome.status == "retry" and "cannot connect" in outcome.reason
    await sender.close()
