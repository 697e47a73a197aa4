"""E-mail through SMTP (aiosmtplib), one connection reused across sends.

A notice to 30,000 addresses must not open 30,000 sessions (relays
throttle that), so the connection stays open between sends, serialised by
a lock, and is reopened once if the server dropped it. Refusals by code:
5xx permanent, 4xx transient; a failure before the message was handed over
is transient; a timeout after DATA began is `unknown`.
"""

from __future__ import annotations

import asyncio
import email.utils
from email.message import EmailMessage
from typing import Literal

import aiosmtplib

from dispatch_tui.senders.base import OutgoingMessage, SendOutcome

__all__ = ["SmtpSender"]

Security = Literal["starttls", "tls", "none"]


class SmtpSender:
    channel = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: Security,
        from_address: str,
        username: str = "",
        password: str = "",
        timeout: float = 30.0,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.from_address = from_address
        self.username = username
        self.password = password
        self.timeout = timeout
        self.label = f"E-mail via SMTP {host}:{port}"
        self._smtp: aiosmtplib.SMTP | None = None
        self._lock = asyncio.Lock()
        self.connections = 0
        """Sessions opened so far (reuse is the point)."""

    def _compose(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.from_address
        mail["To"] = message.address
        mail["Subject"] = message.subject or ""
        mail["Date"] = email.utils.formatdate(localtime=False)
        mail["Message-ID"] = email.utils.make_msgid(domain="dispatch-tui")
        mail["X-Dispatch-Message-Id"] = str(message.id)
        mail.set_content(message.body, charset="utf-8")
        return mail

    async def _connect(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        smtp = aiosmtplib.SMTP(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
        )
        await smtp.connect()
        if self.username:
            await smtp.login(self.username, self.password)
        self.connections += 1
        self._smtp = smtp
        return smtp

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        async with self._lock:
            mail = self._compose(message)
            for attempt in (1, 2):
                try:
                    smtp = await self._connect()
                except (aiosmtplib.SMTPException, OSError) as exc:
                    return SendOutcome.transient(f"{self.label}: cannot connect ({exc})")
                try:
                    await smtp.send_message(mail)
                    return SendOutcome.sent(mail["Message-ID"])
                except aiosmtplib.SMTPServerDisconnected as exc:
                    self._smtp = None
                    if attempt == 2:
                        return SendOutcome.transient(f"{self.label}: disconnected ({exc})")
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    return self._refused(exc.recipients[0].code, exc.recipients[0].message)
                except aiosmtplib.SMTPResponseException as exc:
                    return self._refused(exc.code, exc.message)
                except aiosmtplib.SMTPTimeoutError as exc:
                    self._smtp = None
                    return SendOutcome.unknown(f"{self.label}: no answer after sending ({exc})")
            return SendOutcome.transient(f"{self.label}: could not send")

    def _refused(self, code: int, text: str) -> SendOutcome:
        said = f"{self.label} refused: {code} {text}"
        return SendOutcome.permanent(said) if 500 <= code < 600 else SendOutcome.transient(said)

    async def close(self) -> None:
        async with self._lock:
            if self._smtp is not None and self._smtp.is_connected:
                try:
                    await self._smtp.quit()
                except aiosmtplib.SMTPException:
                    self._smtp.close()
            self._smtp = None
