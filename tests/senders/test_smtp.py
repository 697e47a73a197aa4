"""E-mail through a real aiosmtpd server: UTF-8 subject and body intact,
one connection reused and reopened after a restart, refusals and timeouts
classified, STARTTLS and TLS with a certificate made at test time."""

from __future__ import annotations

import asyncio
import email
import email.message
import email.policy
import shutil
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from dispatch_tui.senders.base import OutgoingMessage, Sender
from dispatch_tui.senders.smtp import SmtpSender
from tests.gateways import free_port

SUBJECT = "Načrtovan izklop — Київ 3.12."
BODY = "Spoštovani, načrtovan izklop: Ljubljana, Šišenska 12. Київ, вул. Хрещатик 1."


class Inbox:
    """An aiosmtpd handler that keeps what it accepts and misbehaves on request."""

    def __init__(self) -> None:
        self.mails: list[email.message.EmailMessage] = []
        self.sessions: list[Session] = []
        self.refuse: dict[str, str] = {}
        self.refuse_sender = ""
        self.slow_rcpt = 0.0
        self.slow_data = 0.0

    @property
    def connections(self) -> int:
        return len(self.sessions)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        if not any(s is session for s in self.sessions):
            self.sessions.append(session)
        if self.refuse_sender:
            return self.refuse_sender
        envelope.mail_from = address
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        await asyncio.sleep(self.slow_rcpt)
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await asyncio.sleep(self.slow_data)
        parsed = email.message_from_bytes(
            envelope.original_content or b"", policy=email.policy.default
        )
        assert isinstance(parsed, email.message.EmailMessage)
        self.mails.append(parsed)
        return "250 Message accepted"


Serve = Callable[..., Controller]


@pytest.fixture
def serve() -> Iterator[Serve]:
    """`serve(inbox, port=None, **controller_options)` → a started aiosmtpd Controller."""
    started: list[Controller] = []

    def start(inbox: Inbox, port: int | None = None, **options: Any) -> Controller:
        controller = Controller(
            inbox, hostname="127.0.0.1", port=port or free_port(), ready_timeout=5, **options
        )
        controller.start()
        started.append(controller)
        return controller

    yield start
    for controller in started:
        if controller._thread is not None:
            controller.stop()


def mail(i: int, to: str = "ana.novak@example.si") -> OutgoingMessage:
    return OutgoingMessage(i, "email", to, BODY, subject=SUBJECT)


def smtp_to(controller: Controller, **options: Any) -> SmtpSender:
    return SmtpSender(
        host="127.0.0.1",
        port=controller.port,
        security=options.pop("security", "none"),
        from_address="Elektro Ljubljana <obvestila@example.si>",
        **options,
    )


def test_it_is_a_sender() -> None:
    sender = SmtpSender(host="mail.example.si", port=587, security="starttls", from_address="a@b")
    assert isinstance(sender, Sender)
    assert (sender.channel, sender.label) == ("email", "E-mail via SMTP mail.example.si:587")


async def test_utf8_arrives_intact_over_one_connection(serve: Serve) -> None:
    inbox = Inbox()
    sender = smtp_to(serve(inbox))
    outcomes = [await sender.send(mail(i)) for i in range(3)]
    await sender.close()
    assert [o.status for o in outcomes] == ["sent"] * 3
    assert sender.connections == 1 and inbox.connections == 1
    first = inbox.mails[0]
    assert first["Subject"] == SUBJECT
    assert first.get_content().strip() == BODY
    assert first["From"] == "Elektro Ljubljana <obvestila@example.si>"
    assert first["To"] == "ana.novak@example.si"
    assert first["X-Dispatch-Message-Id"] == "0"
    assert first["Date"] is not None
    assert first["Message-ID"] == outcomes[0].gateway_ref
    assert first["Message-ID"].endswith("@example.si>")
    assert len({m["Message-ID"] for m in inbox.mails}) == 3


async def test_refusals_are_classified_and_the_connection_kept(serve: Serve) -> None:
    inbox = Inbox()
    inbox.refuse = {"gone@example.si": "550 No such user", "full@example.si": "451 Try later"}
    sender = smtp_to(serve(inbox))
    gone = await sender.send(mail(1, "gone@example.si"))
    full = await sender.send(mail(2, "full@example.si"))
    fine = await sender.send(mail(3))
    bad = await sender.send(mail(4, "ana@example.si\nBcc: everyone@example.si"))
    await sender.close()
    assert gone.status == "failed" and "550 No such user" in gone.reason
    assert full.status == "retry" and "451 Try later" in full.reason
    assert fine.status == "sent" and inbox.connections == 1
    assert bad.status == "failed" and len(inbox.mails) == 1


async def test_a_refused_sender_is_our_configuration_and_retried(serve: Serve) -> None:
    inbox = Inbox()
    inbox.refuse_sender = "553 Sender not allowed"
    sender = smtp_to(serve(inbox))
    outcome = await sender.send(mail(1))
    await sender.close()
    assert (outcome.status, outcome.retry_after) == ("retry", 60.0)
    assert "553 Sender not allowed" in outcome.reason


async def test_a_restarted_server_is_reconnected_transparently(serve: Serve) -> None:
    inbox = Inbox()
    controller = serve(inbox)
    sender = smtp_to(controller)
    assert (await sender.send(mail(1))).status == "sent"
    controller.stop()
    serve(inbox, port=controller.port)
    assert (await sender.send(mail(2))).status == "sent"
    await sender.close()
    assert sender.connections == 2 and len(inbox.mails) == 2


async def test_no_server_is_transient() -> None:
    sender = SmtpSender(
        host="127.0.0.1", port=free_port(), security="none", from_address="o@example.si"
    )
    outcome = await sender.send(mail(1))
    await sender.close()
    assert outcome.status == "retry" and "cannot connect" in outcome.reason


async def test_timeouts_before_and_after_data(serve: Serve) -> None:
    """Before DATA nothing was handed over; after it the server may have the mail."""
    inbox = Inbox()
    sender = smtp_to(serve(inbox), timeout=0.3)
    inbox.slow_rcpt = 0.6
    before = await sender.send(mail(1))
    inbox.slow_rcpt, inbox.slow_data = 0.0, 0.6
    after = await sender.send(mail(2))
    inbox.slow_data = 0.0
    await asyncio.sleep(0.4)  # let the server finish what it was given
    again = await sender.send(mail(3))
    await sender.close()
    assert before.status == "retry" and "timed out" in before.reason.lower()
    assert after.status == "unknown" and "no answer after sending" in after.reason
    assert again.status == "sent" and sender.connections == 3


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl command not found: cannot make a test certificate")
    where = tmp_path_factory.mktemp("tls")
    cert, key = where / "cert.pem", where / "key.pem"
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    key_type = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    files = ["-keyout", str(key), "-out", str(cert)]
    subprocess.run(
        [openssl, "req", "-x509", "-days", "1", *key_type, *subject, *files],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_starttls_and_tls(
    serve: Serve, certificate: tuple[Path, Path], security: str
) -> None:
    cert, key = certificate
    server_side = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_side.load_cert_chain(cert, key)
    options: dict[str, Any] = (
        {"tls_context": server_side, "require_starttls": True}
        if security == "starttls"
        else {"ssl_context": server_side}
    )
    inbox = Inbox()
    controller = serve(inbox, **options)
    trusting = smtp_to(
        controller, security=security, tls_context=ssl.create_default_context(cafile=str(cert))
    )
    outcomes = [await trusting.send(mail(i)) for i in range(2)]
    await trusting.close()
    assert [o.status for o in outcomes] == ["sent", "sent"]
    assert inbox.mails[1]["Subject"] == SUBJECT and inbox.connections == 1
    untrusting = smtp_to(controller, security=security)
    refused = await untrusting.send(mail(3))
    await untrusting.close()
    assert refused.status == "retry" and "cannot connect" in refused.reason
