"""How screens write times, windows and cut text: once, so every screen says a window
the same way (in the utility's zone, named) and cuts long text the same way."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo


def clip(text: str, width: int) -> str:
    """`text` within `width` columns, its cut marked with "…" (the full text is one key away)."""
    return text if len(text) <= width else text[: width - 1] + "…"


def format_window(
    starts_at: datetime, ends_at: datetime, timezone: str, *, weekday: bool = False
) -> str:
    """ "2030-06-03 08:00–12:00 CEST" in `timezone` ("2030-06-03 Mon 08:00–…" with the
    weekday); both zone names when DST changes inside."""
    zone = ZoneInfo(timezone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    start_name, end_name = start.tzname() or timezone, end.tzname() or timezone
    day = "%Y-%m-%d %a" if weekday else "%Y-%m-%d"
    head = start.strftime(f"{day} %H:%M")
    if start_name != end_name:
        head += f" {start_name}"
    if end.date() == start.date():
        tail = f"{end:%H:%M}"
    elif end.year == start.year:
        tail = end.strftime(f"{'%m-%d %a' if weekday else '%m-%d'} %H:%M")
    else:
        tail = end.strftime(f"{day} %H:%M")
    return f"{head}–{tail} {end_name}"


def format_moment(value: datetime, timezone: str) -> str:
    local = value.astimezone(ZoneInfo(timezone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname() or timezone}"


def format_duration(starts_at: datetime, ends_at: datetime) -> str:
    minutes = int((ends_at - starts_at).total_seconds() // 60)
    hours, rest = divmod(minutes, 60)
    if hours and rest:
        return f"{hours} h {rest} min"
    return f"{hours} h" if hours else f"{rest} min"
