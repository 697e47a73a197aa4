"""The sender protocol shared by every delivery channel.

The engine only talks to senders through `Sender.send`, which returns a
`SendOutcome` instead of raising for expected gateway answers, so that the
outbox state machine (sent / failed / retry_wait / unknown) is decided in one
place. Exceptions exist for adapters that find it easier to raise deep inside
their HTTP/SMTP code; the engine maps them to outcomes the same way.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

__all__ = [
    "OutgoingMessage",
    "PermanentError",
    "SendOutcome",
    "Sender",
    "SenderError",
    "TransientError",
    "backoff_delay",
]

OutcomeStatus = Literal["sent", "failed", "retry", "unknown"]


@dataclass(frozen=True)
class OutgoingMessage:
    """One rendered outbox row, detached from the database session.

    Frozen and plain so it can cross the "no network inside a transaction"
    boundary: the engine claims rows, closes the transaction, then sends these.
    """

    id: int
    channel: str
    address: str
    body: str
    subject: str | None = None
    sender: str = ""
    segments: int = 1
    coding_ucs2: bool = False
    unsubscribe_url: str | None = None
    """E-mail: the one-click unsubscribe link for the List-Unsubscribe headers."""


@dataclass(frozen=True)
class SendOutcome:
    """What the gateway said, mapped onto the outbox states.

    `failed` is permanent (show `reason` to the operator), `retry` is
    transient (back off, honouring `retry_after`), `unknown` means the gateway
    may or may not have taken the message, so it must not be resent blindly.
    """

    status: OutcomeStatus
    gateway_ref: str | None = None
    reason: str = ""
    retry_after: float | None = None
    contact_gone: bool = False
    """The address can never be reached again (the user blocked the bot)."""

    @classmethod
    def sent(cls, ref: str | None) -> SendOutcome:
        """The gateway accepted the message; `ref` matches later delivery reports."""
        return cls("sent", gateway_ref=ref)

    @classmethod
    def permanent(cls, reason: str) -> SendOutcome:
        """The gateway refused for good (bad number, blocked bot...): do not retry."""
        return cls("failed", reason=reason)

    @classmethod
    def gone(cls, reason: str) -> SendOutcome:
        """Permanent, and the contact itself is dead: stop messaging it (opt-out wins)."""
        return cls("failed", reason=reason, contact_gone=True)

    @classmethod
    def transient(cls, reason: str, retry_after: float | None = None) -> SendOutcome:
        """Try again later, no sooner than `retry_after` seconds if the server said so."""
        return cls("retry", reason=reason, retry_after=retry_after)

    @classmethod
    def unknown(cls, reason: str) -> SendOutcome:
        """The request may have been taken (e.g. timeout after sending): do not resend."""
        return cls("unknown", reason=reason)


class SenderError(Exception):
    """Base class for errors raised by sender adapters."""


class TransientError(SenderError):
    """A failure worth retrying (timeouts, 5xx, 429); may carry the server's delay."""

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(SenderError):
    """A failure that retrying cannot fix (invalid address, rejected credentials)."""


@runtime_checkable
class Sender(Protocol):
    """A channel adapter. `label` is shown in the UI so a sandbox is never mistaken
    for a real gateway (e.g. "SMS via Kannel" or "SANDBOX SMS")."""

    channel: str
    label: str

    async def send(self, message: OutgoingMessage) -> SendOutcome:
        """Hand one message to the gateway and report what happened."""
        ...

    async def close(self) -> None:
        """Release connections and background tasks."""
        ...


# 2**62 * base already exceeds any sensible cap; clamping avoids float overflow.
_MAX_EXPONENT = 62


def backoff_delay(
    attempt: int,
    *,
    base: float = 5.0,
    cap: float = 3600.0,
    retry_after: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds to wait before retry number `attempt` (0 for the first retry).

    Exponential backoff with "full jitter" (uniform over [0, min(cap, base·2^n)]),
    which spreads retries of many messages that failed together instead of
    hammering a recovering gateway in waves. A server-supplied `retry_after`
    is a floor (capped at `cap`, so a silly header cannot park a message for days).
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    if base < 0 or cap < 0:
        raise ValueError(f"base and cap must be >= 0, got base={base}, cap={cap}")
    ceiling = min(cap, base * 2.0 ** min(attempt, _MAX_EXPONENT))
    delay = (rng or random).uniform(0.0, ceiling)
    # uniform() may round a hair past its bound; keep the documented contract.
    delay = min(max(delay, 0.0), ceiling)
    if retry_after is not None and not math.isnan(retry_after):
        delay = max(delay, min(max(retry_after, 0.0), cap))
    return delay
