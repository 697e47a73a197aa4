"""Whether a meter reading is taken: a number per register, not below the last
one (an operator's meter change starts a new count), a plausible consumption
per day since then, and inside the reading window. Pure: storage.readings
gives the last accepted reading and the clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from dispatch_tui.domain.reading_parse import Refusal
from dispatch_tui.domain.reading_window import ReadingSettings, Window, next_window, window_for

__all__ = ["Checked", "Previous", "Reason", "check_reading"]


class Reason(StrEnum):
    """Why a reading was refused: what the typed text was (domain.reading_parse), who
    sent it, or what the checks found. Stored with the refused reading."""

    EMPTY = Refusal.EMPTY.value
    NOT_A_NUMBER = Refusal.NOT_A_NUMBER.value
    TOO_PRECISE = Refusal.TOO_PRECISE.value
    TOO_LONG = Refusal.TOO_LONG.value
    COUNT = Refusal.COUNT.value
    AMBIGUOUS = Refusal.AMBIGUOUS.value
    UNKNOWN_ACCOUNT = "unknown_account"
    """No such account or metering point, or (web) the proof did not match: one answer."""
    UNVERIFIED = "unverified"
    """The phone or chat is not a proven contact of the account."""
    CHOOSE_POINT = "choose_point"
    """The account has several metering points: name one."""
    LOCKED = "locked"
    """Self-service is locked for the account (too many wrong proofs)."""
    BELOW_PREVIOUS = "below_previous"
    IMPLAUSIBLE = "implausible"
    OUTSIDE_WINDOW = "outside_window"


@dataclass(frozen=True)
class Previous:
    """The metering point's last accepted reading (or an operator's meter change)."""

    values: tuple[int, ...]
    at: datetime


@dataclass(frozen=True)
class Checked:
    reason: Reason | None
    """None: accepted."""
    window: Window
    """The open window (accepted), else the next one, for the answer."""
    consumption_wh: int | None = None
    """Since `Previous`, over all registers; None without one."""


def check_reading(
    values: tuple[int, ...],
    previous: Previous | None,
    now: datetime,
    tz: str,
    settings: ReadingSettings,
) -> Checked:
    """The verdict on a parsed reading at `now` (aware)."""
    window = window_for(now, tz, settings)
    if window is None:
        return Checked(Reason.OUTSIDE_WINDOW, next_window(now, tz, settings))
    if previous is None or len(previous.values) != len(values):
        return Checked(None, window)
    if any(v < p for v, p in zip(values, previous.values, strict=True)):
        return Checked(Reason.BELOW_PREVIOUS, window)
    used = sum(values) - sum(previous.values)
    days = max((now - previous.at) / timedelta(days=1), 1.0)
    if used > settings.max_kwh_per_day * 1000 * days:
        return Checked(Reason.IMPLAUSIBLE, window, used)
    return Checked(None, window, used)
