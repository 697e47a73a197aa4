"""The reading window (last days of the month to the 3rd of the next, local time):
properties across daylight-saving changes and month ends, and the checks."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from dispatch_tui.domain.reading_checks import Previous, Reason, check_reading
from dispatch_tui.domain.reading_window import (
    MAX_SPAN,
    ReadingSettings,
    next_window,
    next_window_start,
    period_window,
    window_for,
)

ZONES = ["Europe/Kyiv", "Europe/Sofia", "Europe/Ljubljana", "UTC", "America/Havana"]
"""Havana changes its clocks at midnight: the window's midnight does not always exist."""
DEFAULT = ReadingSettings()

moments = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2040, 12, 31), timezones=st.just(UTC)
)
settings = (
    st.tuples(st.sampled_from([1, 2]), st.integers(1, 15), st.integers(1, 15))
    .filter(lambda t: t[1] + t[2] <= MAX_SPAN)
    .map(lambda t: ReadingSettings(*t))
)


def in_window_by_calendar(moment: datetime, tz: str, s: ReadingSettings) -> bool:
    local = moment.astimezone(ZoneInfo(tz))
    last = calendar.monthrange(local.year, local.month)[1]
    return local.day > last - s.opens_days or local.day <= s.closes_day


@given(moments, st.sampled_from(ZONES), settings)
def test_the_open_window_contains_the_moment_and_matches_the_calendar(
    moment: datetime, tz: str, s: ReadingSettings
) -> None:
    window = window_for(moment, tz, s)
    if tz != "America/Havana":  # a nonexistent midnight moves the edge by an hour there
        assert (window is not None) == in_window_by_calendar(moment, tz, s)
    if window is not None:
        assert window.start <= moment < window.end
        local = moment.astimezone(ZoneInfo(tz)).date()
        assert window.first_day <= local <= window.last_day or tz == "America/Havana"


@given(moments, st.sampled_from(ZONES), settings)
@example(datetime(2020, 1, 1, tzinfo=UTC), "Europe/Kyiv", ReadingSettings(1, 14, 14))
@example(datetime(2021, 1, 1, tzinfo=UTC), "Europe/Kyiv", ReadingSettings(1, 14, 14))
def test_the_next_window_is_the_first_to_open_after_the_moment(
    moment: datetime, tz: str, s: ReadingSettings
) -> None:
    window = next_window(moment, tz, s)
    assert window.start > moment
    assert next_window_start(moment, tz, s) == window.start
    assert window_for(window.start, tz, s) == window
    assert window_for(window.end - timedelta(microseconds=1), tz, s) == window
    # Nothing opens in between: just before it opens, its predecessor (or none) is open.
    before = window_for(window.start - timedelta(microseconds=1), tz, s)
    assert before is None or before.period < window.period
    assert window.start - moment <= timedelta(days=32)


@given(st.integers(2020, 2040), st.integers(1, 12), st.sampled_from(ZONES), settings)
def test_a_window_opens_and_closes_at_local_midnight_around_the_month_end(
    year: int, month: int, tz: str, s: ReadingSettings
) -> None:
    window = period_window(year, month, tz, s)
    last = calendar.monthrange(year, month)[1]
    assert window.period == f"{year:04d}-{month:02d}"
    assert window.first_day == date(year, month, last - s.opens_days + 1)
    assert window.last_day == date(year, month, last) + timedelta(days=s.closes_day)
    for edge in (window.start, window.end):
        local = edge.astimezone(ZoneInfo(tz))
        assert (local.hour, local.minute) in ((0, 0), (1, 0))  # 1:00 when midnight is skipped
    hours = (window.end - window.start) / timedelta(hours=1)
    assert abs(hours - 24 * (s.opens_days + s.closes_day)) <= 1


@pytest.mark.parametrize(
    ("year", "month", "first", "last"),
    [
        (2028, 2, date(2028, 2, 28), date(2028, 3, 3)),  # leap year
        (2026, 2, date(2026, 2, 27), date(2026, 3, 3)),
        (2026, 11, date(2026, 11, 29), date(2026, 12, 3)),
        (2026, 12, date(2026, 12, 30), date(2027, 1, 3)),
        (2026, 3, date(2026, 3, 30), date(2026, 4, 3)),  # Kyiv's clocks go forward on the 29th
    ],
)
def test_the_seed_window(year: int, month: int, first: date, last: date) -> None:
    window = period_window(year, month, "Europe/Kyiv", DEFAULT)
    assert (window.first_day, window.last_day) == (first, last)


def test_across_the_october_clock_change() -> None:
    """Kyiv goes back an hour on 25 October 2026: the window still ends at local midnight."""
    s = ReadingSettings(opens_days=7)
    window = period_window(2026, 10, "Europe/Kyiv", s)
    assert window.start == datetime(2026, 10, 24, 21, tzinfo=UTC)  # +03:00
    assert window.end == datetime(2026, 11, 3, 22, tzinfo=UTC)  # +02:00


@pytest.mark.parametrize(
    "bad",
    [{"registers": 3}, {"opens_days": 0}, {"closes_day": 16}, {"opens_days": 15, "closes_day": 14}],
)
def test_settings_are_checked(bad: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        ReadingSettings(**bad)


IN = datetime(2026, 11, 30, 10, tzinfo=UTC)


def test_the_checks() -> None:
    tz = "Europe/Kyiv"
    first = check_reading((12_345_000,), None, IN, tz, DEFAULT)
    assert first.reason is None and first.window.period == "2026-11"
    month_ago = Previous((12_000_000,), IN - timedelta(days=30))
    assert check_reading((12_345_000,), month_ago, IN, tz, DEFAULT).consumption_wh == 345_000
    assert check_reading((11_000_000,), month_ago, IN, tz, DEFAULT).reason is Reason.BELOW_PREVIOUS
    huge = check_reading((17_000_000,), month_ago, IN, tz, DEFAULT)  # 166 kWh a day
    assert huge.reason is Reason.IMPLAUSIBLE
    yesterday = Previous((12_000_000,), IN - timedelta(hours=3))  # counts as a day
    assert check_reading((12_150_000,), yesterday, IN, tz, DEFAULT).reason is None
    outside = check_reading((12_345_000,), None, datetime(2026, 11, 15, tzinfo=UTC), tz, DEFAULT)
    assert outside.reason is Reason.OUTSIDE_WINDOW
    assert (outside.window.first_day, outside.window.last_day) == (
        date(2026, 11, 29),
        date(2026, 12, 3),
    )
