"""Which sender serves each channel, from the settings.

A sandbox run (`Settings.sandboxed()`, what `dispatch-tui demo` uses)
gets the sandbox for every channel before anything else is looked at, so
no configured gateway or token can turn a demo into real messages. Outside
one, a bot channel with a token gets its real sender; without one, the
sandbox serves it only while SMS go to the sandbox too, and otherwise its
messages wait, visibly, in the monitor instead of being pretended sent.
"""

from __future__ import annotations

from dispatch_tui.config import Settings
from dispatch_tui.senders.base import Sender
from dispatch_tui.senders.kannel import KannelSender
from dispatch_tui.senders.sandbox import ReportCallback, SandboxSender
from dispatch_tui.senders.smtp import SmtpSender
from dispatch_tui.senders.telegram import TelegramSender
from dispatch_tui.senders.viber import ViberSender
from dispatch_tui.storage.models import CHANNELS

BOT_RATE = 25.0
"""Messages per second for bot channels: under Telegram's ~30/s per bot."""

KANNEL_DLR_STATES: dict[int, str] = {
    1: "delivered",
    2: "failed",
    4: "buffered",
    8: "sent",
    16: "failed",
}
"""Kannel's DLR types (`%d`) as outbox report states."""


def _sandbox(channel: str, on_report: ReportCallback) -> SandboxSender:
    return SandboxSender(
        channel,
        latency=0.02,
        failure_rate=0.01,
        unknown_rate=0.002,
        on_report=on_report,
        report_delay=2.0,
        report_failure_rate=0.02,
    )


def build_senders(
    settings: Settings, *, report_url: str | None, on_sandbox_report: ReportCallback
) -> dict[str, Sender]:
    """One sender per channel that can send with these settings."""
    if settings.sandbox:
        return {channel: _sandbox(channel, on_sandbox_report) for channel in CHANNELS}
    senders: dict[str, Sender] = {}
    sms_sandbox = settings.sms_gateway == "sandbox"
    if sms_sandbox:
        senders["sms"] = _sandbox("sms", on_sandbox_report)
    else:
        senders["sms"] = KannelSender(
            url=settings.sms_kannel_url,
            username=settings.sms_kannel_username,
            password=settings.sms_kannel_password,
            dlr_url=report_url,
        )
    if settings.email_gateway == "sandbox":
        senders["email"] = _sandbox("email", on_sandbox_report)
    else:
        senders["email"] = SmtpSender(
            host=settings.email_smtp_host,
            port=settings.email_smtp_port,
            security=settings.email_smtp_security,  # type: ignore[arg-type]
            username=settings.email_smtp_username,
            password=settings.email_smtp_password,
            from_address=settings.email_from_address,
        )
    if settings.telegram_token:
        senders["telegram"] = TelegramSender(token=settings.telegram_token)
    elif sms_sandbox:
        senders["telegram"] = _sandbox("telegram", on_sandbox_report)
    if settings.viber_token:
        senders["viber"] = ViberSender(
            token=settings.viber_token, sender_name=settings.viber_sender_name
        )
    elif sms_sandbox:
        senders["viber"] = _sandbox("viber", on_sandbox_report)
    return senders


def channel_rate(settings: Settings, channel: str) -> float:
    """Messages per second this process may hand to the channel's gateway."""
    return {"sms": settings.sms_rate, "email": settings.email_rate}.get(channel, BOT_RATE)
