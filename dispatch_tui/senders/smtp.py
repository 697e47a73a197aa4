"""E-mail through SMTP (aiosmtplib), one connection reused across sends.

A notice to 30,000 addresses must not open 30,000 sessions (relays
throttle that), so the connection stays open between sends, serialised by
a lock, and is reopened once if the server dropped it. Refusals by code:
5xx permanent, 4xx transient; a failure before the message was handed over
is transient; a timeout or drop after DATA began is `unknown`. A refused
login or sender address is our configuration, so it is retried rather than
failing every message of a notice.
"""

from __future__ import annotations

import asyncio
import email.utils
import ssl
from email.message import EmailMessage
from typing import Literal

import aiosmtplib
from aiosmtplib.typing import Default

from dispatch_tui.senders.base import OutgoingMessage, SendOutcome

__all__ = ["Security", "SmtpSender"]

Security = Literal["starttls", "tls", "none"]
CONFIG_PAUSE = 60.0
"""Seconds before retrying after the server refused our login or sender."""


class _Smtp(aiosmtplib.SMTP):
    """Remembers whether DATA began: before it nothing was handed over (retry),
    after it the server may have taken the message (unknown)."""

    data_started = False

    async def data(
        self,
        message: str | bytes,
        /,
        *,
        timeout: float | Literal[Default.token] | None = Default.token,
    ) -> aiosmtplib.SMTPResponse:
        self.data_started = True
        return await super().data(message, timeout=timeout)


class SmtpSender:
    """Sends plain-text UTF-8 mail from `from_address` over one kept-open session."""

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
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.security = security
        self.from_address = from_address
        self.username = username
        self.password = password
        self.timeout = timeout
        self.tls_context = tls_context
        """Trust for the server's certificate; None uses the system's CAs."""
        self.label = f"E-mail via SMTP {host}:{port}"
        domain = email.utils.parseaddr(from_address)[1].rpartition("@")[2]
        self._msgid_domain = domain or "dispatch-tui.invalid"
        self._smtp: _Smtp | None = None
        self._lock = asyncio.Lock()
        self.connections = 0
        """Sessions opened so far (reuse is the point)."""

    def _compose(self, message: OutgoingMessage) -> EmailMessage:
        mail = EmailMessage()  # default policy: RFC 2047 encoded UTF-8 headers
        mail["From"] = self.from_address
        mail["To"] = message.address
        mail["Subject"] = message.subject or ""
        mail["Date"] = email.utils.formatdate(localtime=False)
        mail["Message-ID"] = email.utils.make_msgid(domain=self._msgid_domain)
        mail["X-Dispatch-Message-Id"] = str(message.id)
        if message.unsubscribe_url:
            # RFC 8058: a POST of "List-Unsubscribe=One-Click" to the link unsubscribes.
            mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
            mail["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        mail.set_content(message.body, charset="utf-8")
        return mail

    async def _connect(self) -> _Smtp:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        smtp = _Smtp(
            hostname=self.host,
            port=self.port,
            timeout=self.timeout,
            use_tls=self.security == "tls",
            start_tls=self.security == "starttls",
            tls_context=self.tls_context,
        )
        await smtp.connect()
        self.connections += 1
        self._smtp = smtp
        if self.username:
            await smtp.login(self.username, self.password)
        return smtp

    def _drop(self) -> None:
        if self._smtp is not None:
            self._smtp.close()
            self._smtp = None

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        """Send one mail; never raises for what a server or network may do."""
        try:
            mail = self._compose(message)
        except ValueError as exc:
            return SendOutcome.permanent(f"{self.label}: cannot address {message.address!r}: {exc}")
        async with self._lock:
            for attempt in (1, 2):
                try:
                    smtp = await self._connect()
                except aiosmtplib.SMTPAuthenticationError as exc:
                    self._drop()
                    return SendOutcome.transient(
                        f"{self.label} refused our login: {exc.code} {exc.message}", CONFIG_PAUSE
                    )
                except (aiosmtplib.SMTPException, OSError) as exc:
                    self._drop()
                    return SendOutcome.transient(f"{self.label}: cannot connect ({_said(exc)})")
                smtp.data_started = False
                try:
                    await smtp.send_message(mail)
                    return SendOutcome.sent(mail["Message-ID"])
                except aiosmtplib.SMTPRecipientsRefused as exc:
                    refused = exc.recipients[0]
                    return self._refused(refused.code, refused.message)
                except aiosmtplib.SMTPSenderRefused as exc:
                    return SendOutcome.transient(
                        f"{self.label} refused our sender {exc.sender!r}: {exc.code} {exc.message}",
                        CONFIG_PAUSE,
                    )
                except aiosmtplib.SMTPResponseException as exc:
                    return self._refused(exc.code, exc.message)
                except aiosmtplib.SMTPNotSupported as exc:
                    return SendOutcome.permanent(f"{self.label}: {exc}")
                except ValueError as exc:
                    return SendOutcome.permanent(f"{self.label}: cannot send to it ({exc})")
                except (aiosmtplib.SMTPException, OSError) as exc:
                    # Timeouts and drops: the session is unusable either way.
                    self._drop()
                    if smtp.data_started:
                        return SendOutcome.unknown(
                            f"{self.label}: no answer after sending ({_said(exc)})"
                        )
                    if attempt == 2 or not isinstance(exc, ConnectionError):
                        return SendOutcome.transient(
                            f"{self.label}: {_said(exc)} (before the message was handed over)"
                        )
                    # The server closed the kept-open session: reconnect once.
        return SendOutcome.transient(f"{self.label}: could not send")

    def _refused(self, code: int, text: str) -> SendOutcome:
        said = f"{self.label} refused: {code} {text}"
        return SendOutcome.permanent(said) if 500 <= code < 600 else SendOutcome.transient(said)

    async def close(self) -> None:
        """QUIT the kept-open session; a later send opens a new one."""
        async with self._lock:
            if self._smtp is not None and self._smtp.is_connected:
                try:
                    await self._smtp.quit()
                except (aiosmtplib.SMTPException, OSError):
                    self._smtp.close()
            self._smtp = None


def _said(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__
