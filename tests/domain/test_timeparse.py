"""Local date/time input: round trips, DST gaps and repeats refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.timeparse import format_local, parse_local

ZONES = ("Europe/Ljubljana", "Europe/Kyiv", "Europe/Sofia")


def test_examples() -> None:
    assert parse_local("2030-06-03 08:00", "Europe/Ljubljana") == datetime(
        2030, 6, 3, 6, 0, tzinfo=UTC
    )
    assert parse_local(" 2030-1-5 7.30 ", "Europe/Kyiv") == datetime(2030, 1, 5, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize("text", ["tomorrow", "2030-06-03", "03.06.2030 08:00", ""])
def test_bad_format(text: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM-DD HH:MM"):
        parse_local(text, "Europe/Sofia")


def test_impossible_date() -> None:
    with pytest.raises(ValueError, match="not a valid date"):
        parse_local("2030-02-30 10:00", "Europe/Sofia")


def test_dst_gap_and_repeat_are_refused() -> None:
    with pytest.raises(ValueError, match="does not exist"):
        parse_local("2030-03-31 02:30", "Europe/Ljubljana")
    with pytest.raises(ValueError, match="happens twice"):
        parse_local("2030-10-27 02:30", "Europe/Ljubljana")
    with pytest.raises(ValueError, match="does not exist"):
        parse_local("2030-03-31 03:30", "Europe/Kyiv")


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2090, 1, 1)).map(
        lambda d: d.replace(second=0, microsecond=0, tzinfo=UTC)
    ),
    st.sampled_from(ZONES),
)
def test_round_trip(instant: datetime, zone: str) -> None:
    text = format_local(instant, zone)
    try:
        parsed = parse_local(text, zone)
    except ValueError as exc:
        assert "happens twice" in str(exc)
        return
    assert parsed == instant
    assert parsed - instant == timedelta(0)
