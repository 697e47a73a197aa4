"""Reading a local date and time typed by an operator.

Operators type the utility's wall-clock time; we store UTC (rule 5). A
time that does not exist (the hour skipped when clocks go forward) or
exists twice (the hour repeated when they go back) is refused with a
message, rather than silently picking one.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

FORMAT_HINT = "YYYY-MM-DD HH:MM"
_PATTERN = re.compile(r"\s*(\d{4})-(\d{1,2})-(\d{1,2})[ T]+(\d{1,2})[:.](\d{2})\s*")


def parse_local(text: str, timezone: str) -> datetime:
    """`text` as wall-clock time in `timezone`, returned in UTC; ValueError explains."""
    match = _PATTERN.fullmatch(text)
    if match is None:
        raise ValueError(f"'{text.strip()}' is not a date and time like {FORMAT_HINT}")
    year, month, day, hour, minute = map(int, match.groups())
    zone = ZoneInfo(timezone)
    try:
        naive = datetime(year, month, day, hour, minute)
    except ValueError as exc:
        raise ValueError(f"'{text.strip()}' is not a valid date and time: {exc}") from exc
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():
        if _round_trips(first):
            raise ValueError(
                f"{naive:%Y-%m-%d %H:%M} happens twice in {timezone} (clocks go back); "
                "pick a time outside that hour"
            )
        raise ValueError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {timezone} (clocks go forward); "
            "pick a time outside that hour"
        )
    return first.astimezone(UTC)


def _round_trips(value: datetime) -> bool:
    back = value.astimezone(UTC).astimezone(value.tzinfo)
    return back.replace(tzinfo=None) == value.replace(tzinfo=None)


def format_local(value: datetime, timezone: str) -> str:
    """The inverse of `parse_local` (for pre-filling a form)."""
    return value.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")
