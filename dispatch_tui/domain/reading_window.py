"""When meter readings are taken (seed 003: "the last 2 days of the month up to
the 3rd of the next", so bills are actual, not estimated), per utility and in
its local time.

A window belongs to the month it closes: readings from 29 November to 3
December are November's (period "2026-11"). It opens at local midnight of
the first of the month's last `opens_days` days and closes at the end of
day `closes_day` of the next month; across daylight-saving changes that is
still local midnight, so a window may be an hour shorter or longer.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Final
from zoneinfo import ZoneInfo

__all__ = [
    "ReadingSettings",
    "Window",
    "next_window",
    "next_window_start",
    "period_window",
    "window_for",
]

MAX_WINDOW_DAYS: Final = 15
"""Most days `opens_days` and `closes_day` may each be: a window stays under a month."""
MAX_SPAN: Final = 28
"""Most days `opens_days` and `closes_day` may be together: February's window must
not open before January's has closed (15 and 15 would give a day with two)."""


@dataclass(frozen=True)
class ReadingSettings:
    """A utility's readings: registers (1, or 2 for day/night), the window, and the
    most kWh per day a reading may imply before it is refused as implausible."""

    registers: int = 1
    opens_days: int = 2
    closes_day: int = 3
    max_kwh_per_day: int = 150

    def __post_init__(self) -> None:
        if self.registers not in (1, 2):
            raise ValueError("registers must be 1 or 2 (day and night)")
        for name in ("opens_days", "closes_day"):
            value = getattr(self, name)
            if not 1 <= value <= MAX_WINDOW_DAYS:
                raise ValueError(f"{name} must be 1 to {MAX_WINDOW_DAYS}, not {value}")
        if self.opens_days + self.closes_day > MAX_SPAN:
            raise ValueError(
                f"opens_days + closes_day must be at most {MAX_SPAN}, not"
                f" {self.opens_days + self.closes_day}: February's window would open"
                " before January's closes"
            )
        if not 1 <= self.max_kwh_per_day <= 100_000:
            raise ValueError("max_kwh_per_day must be 1 to 100000")


@dataclass(frozen=True)
class Window:
    period: str
    """The month the readings are for, "2026-11"."""
    start: datetime
    """UTC, inclusive."""
    end: datetime
    """UTC, exclusive."""
    first_day: date
    last_day: date
    """Local dates, both inclusive, as a reply names them."""


def _local_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def period_window(year: int, month: int, tz: str, settings: ReadingSettings) -> Window:
    """The window of the readings for `year`-`month`."""
    zone = ZoneInfo(tz)
    last = calendar.monthrange(year, month)[1]
    first_day = date(year, month, max(1, last - settings.opens_days + 1))
    after = date(year, month, last) + timedelta(days=1)
    last_day = date(after.year, after.month, settings.closes_day)
    return Window(
        f"{year:04d}-{month:02d}",
        _local_midnight(first_day, zone),
        _local_midnight(last_day + timedelta(days=1), zone),
        first_day,
        last_day,
    )


def _month_before(year: int, month: int) -> tuple[int, int]:
    return (year, month - 1) if month > 1 else (year - 1, 12)


def _month_after(year: int, month: int) -> tuple[int, int]:
    return (year, month + 1) if month < 12 else (year + 1, 1)


def window_for(moment: datetime, tz: str, settings: ReadingSettings) -> Window | None:
    """The window open at `moment` (aware), or None."""
    local = moment.astimezone(ZoneInfo(tz))
    for year, month in ((local.year, local.month), _month_before(local.year, local.month)):
        window = period_window(year, month, tz, settings)
        if window.start <= moment < window.end:
            return window
    return None


def next_window(moment: datetime, tz: str, settings: ReadingSettings) -> Window:
    """The first window that opens after `moment` (aware)."""
    local = moment.astimezone(ZoneInfo(tz))
    year, month = _month_before(local.year, local.month)
    while True:
        window = period_window(year, month, tz, settings)
        if window.start > moment:
            return window
        year, month = _month_after(year, month)


def next_window_start(now: datetime, tz: str, settings: ReadingSettings) -> datetime:
    """When the next reading window opens (UTC): when reading reminders go out."""
    return next_window(now, tz, settings).start
