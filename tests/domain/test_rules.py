"""Tests for dispatch_tui.domain.rules: defaults, wall-clock arithmetic, lead time, duration."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.rules import (
    DEFAULT_OFFSETS,
    LeadTime,
    LeadTimeUnit,
    NoticeOffset,
    NoticeRules,
    business_days_between,
    defaults_for,
    duration_problem,
    first_notice_at,
    format_duration,
    is_business_day,
    is_winter,
    lead_time_problem,
    local_instant,
    offset_due,
)

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
KYIV = ZoneInfo("Europe/Kyiv")
SOFIA = ZoneInfo("Europe/Sofia")
SYDNEY = ZoneInfo("Australia/Sydney")
ZONES = [LJUBLJANA, KYIV, SOFIA]


def at(tz: ZoneInfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


# ------------------------------------------------------------------ defaults


def test_shipped_defaults_follow_the_table() -> None:
    ua = defaults_for("UA")
    assert ua.lead_time == LeadTime(5, LeadTimeUnit.CALENDAR_DAYS)
    assert (ua.max_duration_hours, ua.winter_max_duration_hours) == (12, 6)
    assert ua.winter_months == {12, 1, 2}
    assert defaults_for("BG").lead_time == LeadTime(48, LeadTimeUnit.HOURS)
    assert defaults_for("SI").lead_time == LeadTime(48, LeadTimeUnit.HOURS)
    assert defaults_for("AU").lead_time == LeadTime(4, LeadTimeUnit.BUSINESS_DAYS)
    assert defaults_for("GB").lead_time == LeadTime(2, LeadTimeUnit.CALENDAR_DAYS)
    for code in ("BG", "SI", "AU", "GB"):
        assert defaults_for(code).max_duration_hours is None
    for code in ("UA", "BG", "SI", "GB"):
        rules = defaults_for(code)
        assert rules.offsets == DEFAULT_OFFSETS
        assert (rules.quiet_start, rules.quiet_end) == (time(21), time(8))


def test_seed_001_offsets() -> None:
    assert (
        NoticeOffset("advance", 5),
        NoticeOffset("day_before", 1),
        NoticeOffset("day_of", 0, time(7)),
    ) == DEFAULT_OFFSETS


def test_defaults_lookup_is_forgiving_but_not_silent() -> None:
    assert defaults_for(" ua ") == defaults_for("UA")
    assert defaults_for("uk") == defaults_for("GB")
    with pytest.raises(ValueError, match=r"no shipped notice rules for 'FR'.*AU, BG, GB, SI, UA"):
        defaults_for("FR")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"country": "Slovenia"}, "two-letter ISO code"),
        ({"country": "XX"}, "no public-holiday calendar for 'XX'"),
        ({"holiday_subdivision": "ZZ"}, "no public-holiday calendar"),
        ({"winter_months": frozenset({0, 13})}, r"winter months must be 1 to 12 \(got \[0, 13\]\)"),
        ({"max_duration_hours": 0}, "max_duration_hours must be positive"),
        ({"quiet_start": time(21, tzinfo=UTC)}, "quiet_start is local wall-clock time"),
    ],
)
def test_invalid_rules_are_refused_with_a_clear_message(
    change: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(defaults_for("SI"), **change)  # type: ignore[arg-type]


def test_invalid_pieces() -> None:
    with pytest.raises(ValueError, match="must not be negative"):
        LeadTime(-1)
    with pytest.raises(ValueError, match="unknown notice offset kind"):
        NoticeOffset("immediate", 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="days_before must not be negative"):
        NoticeOffset("advance", -1)
    with pytest.raises(ValueError, match="local wall-clock time"):
        NoticeOffset("day_of", 0, time(7, tzinfo=UTC))


def test_rules_normalise_country_and_quiet_hours_flag() -> None:
    rules = NoticeRules(country="si", lead_time=LeadTime(2), quiet_start=time(8), quiet_end=time(8))
    assert rules.country == "SI"
    assert rules.authority == "Slovenia"
    assert not rules.has_quiet_hours
    assert defaults_for("SI").has_quiet_hours
    assert NoticeRules(country="DE", lead_time=LeadTime(1)).authority == "DE"


def test_lead_time_describe() -> None:
    assert LeadTime(48, LeadTimeUnit.HOURS).describe() == "48 hours"
    assert LeadTime(1, LeadTimeUnit.BUSINESS_DAYS).describe() == "1 business day"
    assert LeadTime(5).describe() == "5 days"


# ------------------------------------------------------------- wall clock


def test_local_instant_plain() -> None:
    assert local_instant(date(2025, 6, 25), time(9), LJUBLJANA) == datetime(
        2025, 6, 25, 7, tzinfo=UTC
    )
    assert local_instant(date(2025, 1, 7), time(9), "Europe/Kyiv") == datetime(
        2025, 1, 7, 7, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("zone", "wall", "expected_utc"),
    [
        # Ljubljana jumps 02:00 CET -> 03:00 CEST at 01:00 UTC.
        (LJUBLJANA, time(2, 30), datetime(2025, 3, 30, 1, tzinfo=UTC)),
        (LJUBLJANA, time(2, 0), datetime(2025, 3, 30, 1, tzinfo=UTC)),
        # Kyiv and Sofia jump 03:00 EET -> 04:00 EEST, also at 01:00 UTC.
        (KYIV, time(3, 30), datetime(2025, 3, 30, 1, tzinfo=UTC)),
        (SOFIA, time(3, 59, 59), datetime(2025, 3, 30, 1, tzinfo=UTC)),
    ],
)
def test_local_instant_in_spring_gap_is_the_jump(
    zone: ZoneInfo, wall: time, expected_utc: datetime
) -> None:
    assert local_instant(date(2025, 3, 30), wall, zone) == expected_utc


@pytest.mark.parametrize(
    ("zone", "wall", "expected_utc"),
    [
        (LJUBLJANA, time(2, 30), datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
        (KYIV, time(3, 30), datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
        (SOFIA, time(3, 30), datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
    ],
)
def test_local_instant_in_autumn_overlap_is_first_occurrence(
    zone: ZoneInfo, wall: time, expected_utc: datetime
) -> None:
    assert local_instant(date(2025, 10, 26), wall, zone) == expected_utc


@given(
    zone=st.sampled_from([*ZONES, SYDNEY, ZoneInfo("America/St_Johns"), ZoneInfo("UTC")]),
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2030, 12, 31)),
    wall=st.times(),
)
def test_local_instant_is_first_moment_the_clock_shows_it(
    zone: ZoneInfo, day: date, wall: time
) -> None:
    target = datetime.combine(day, wall)
    result = local_instant(day, wall, zone)
    assert result.tzinfo is UTC
    assert result.astimezone(zone).replace(tzinfo=None) >= target
    assert (result - timedelta(microseconds=1)).astimezone(zone).replace(tzinfo=None) < target


@pytest.mark.parametrize("zone", ZONES, ids=str)
@pytest.mark.parametrize(
    "monday", [date(2025, 3, 31), date(2025, 10, 27), date(2024, 4, 1), date(2024, 10, 28)]
)
def test_day_offsets_keep_local_time_across_dst(zone: ZoneInfo, monday: date) -> None:
    """The Monday after the change: 5-day and 1-day notices still at 09:00 local."""
    starts_at = datetime.combine(monday, time(9), tzinfo=zone)
    advance = offset_due(NoticeOffset("advance", 5), starts_at, zone)
    day_before = offset_due(NoticeOffset("day_before", 1), starts_at, zone)
    for due, days in ((advance, 5), (day_before, 1)):
        local = due.astimezone(zone)
        assert (local.date(), local.time()) == (monday - timedelta(days=days), time(9))
        assert due.tzinfo is UTC
    # The advance notice is on the other side of the change: a different UTC offset,
    # so it is not a whole number of 24-hour days before the start.
    assert advance.astimezone(zone).utcoffset() != starts_at.utcoffset()
    assert starts_at - advance != timedelta(days=5)


def test_day_offsets_in_utc_across_march_change_in_ljubljana() -> None:
    starts_at = at(LJUBLJANA, 2025, 3, 31, 9)  # 07:00 UTC (CEST)
    assert offset_due(NoticeOffset("advance", 5), starts_at, LJUBLJANA) == datetime(
        2025, 3, 26, 8, tzinfo=UTC
    )
    assert offset_due(NoticeOffset("day_before", 1), starts_at, LJUBLJANA) == datetime(
        2025, 3, 30, 7, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        (time(9), time(7)),
        (time(7, 1), time(7)),
        (time(7), time(6)),  # 07:00 is not before a 07:00 start
        (time(6, 30), time(5, 30)),
        (time(0, 30), time(23, 30)),  # the evening before
    ],
)
def test_day_of_falls_back_to_an_hour_before_an_early_start(start: time, expected: time) -> None:
    starts_at = datetime.combine(date(2025, 6, 10), start, tzinfo=KYIV)
    due = offset_due(NoticeOffset("day_of", 0, time(7)), starts_at, KYIV)
    assert due.astimezone(KYIV).time() == expected
    assert due < starts_at


def test_first_notice_at() -> None:
    rules = defaults_for("UA")
    starts_at = at(KYIV, 2025, 6, 20, 9)
    early = at(KYIV, 2025, 6, 1, 12)
    assert first_notice_at(rules, early, starts_at, KYIV) == at(KYIV, 2025, 6, 15, 9)
    late = at(KYIV, 2025, 6, 18, 12)
    assert first_notice_at(rules, late, starts_at, KYIV) == late
    no_offsets = dataclasses.replace(rules, offsets=())
    assert first_notice_at(no_offsets, early, starts_at, KYIV) == early


# ------------------------------------------------------------ business days


def test_business_days_skip_weekends_and_holidays() -> None:
    si = defaults_for("SI")
    assert not is_business_day(date(2025, 6, 25), si)  # Statehood Day, a Wednesday
    assert is_business_day(date(2025, 6, 24), si)
    assert not is_business_day(date(2025, 6, 28), si)  # Saturday
    bg = defaults_for("BG")
    assert not is_business_day(date(2025, 9, 8), bg)  # Unification Day observed on Monday
    assert not is_business_day(date(2025, 3, 3), bg)  # Liberation Day
    ua = defaults_for("UA")
    assert not is_business_day(date(2021, 8, 24), ua)  # Independence Day
    assert not is_business_day(date(2021, 8, 23), ua)  # substituted day off


def test_business_days_between_counts_clear_days() -> None:
    si = defaults_for("SI")
    # Mon 23 June -> Fri 27 June 2025: Tue 24, (Wed 25 holiday), Thu 26.
    assert business_days_between(date(2025, 6, 23), date(2025, 6, 27), si) == 2
    # A week later without a holiday: Tue, Wed, Thu.
    assert business_days_between(date(2025, 6, 30), date(2025, 7, 4), si) == 3
    assert business_days_between(date(2025, 6, 30), date(2025, 7, 4), si, limit=1) == 1
    assert business_days_between(date(2025, 7, 4), date(2025, 6, 30), si) == 0


def test_regional_holidays() -> None:
    nsw = dataclasses.replace(defaults_for("AU"), holiday_subdivision="NSW")
    vic = dataclasses.replace(defaults_for("AU"), holiday_subdivision="VIC")
    melbourne_cup = date(2025, 11, 4)
    assert not is_business_day(melbourne_cup, vic)
    assert is_business_day(melbourne_cup, nsw)


# ---------------------------------------------------------------- lead time


def test_hours_lead_time_bulgaria() -> None:
    bg = defaults_for("BG")
    starts_at = at(SOFIA, 2025, 6, 10, 9)
    assert lead_time_problem(bg, starts_at - timedelta(hours=48), starts_at, SOFIA) is None
    assert (
        lead_time_problem(bg, starts_at - timedelta(hours=47, minutes=59), starts_at, SOFIA)
        == "only 47 hours of notice; Bulgaria requires 48 hours"
    )
    assert (
        lead_time_problem(bg, starts_at - timedelta(minutes=59), starts_at, SOFIA)
        == "less than an hour of notice; Bulgaria requires 48 hours"
    )


def test_hours_lead_time_counts_real_hours_across_dst() -> None:
    """48 wall-clock hours over the spring change are only 47 real hours."""
    bg = defaults_for("BG")
    starts_at = at(SOFIA, 2025, 3, 31, 9)
    now = at(SOFIA, 2025, 3, 29, 9)
    assert lead_time_problem(bg, now, starts_at, SOFIA) == (
        "only 47 hours of notice; Bulgaria requires 48 hours"
    )


def test_lead_time_counts_from_the_first_notice_not_from_approval() -> None:
    """Approving early does not help when the first offset is too close to the start."""
    short = dataclasses.replace(defaults_for("UA"), offsets=(NoticeOffset("day_before", 1),))
    starts_at = at(KYIV, 2025, 6, 20, 9)
    assert (
        lead_time_problem(short, at(KYIV, 2025, 6, 1), starts_at, KYIV)
        == "only 1 day of notice; Ukraine requires 5 days"
    )


def test_calendar_days_lead_time_ukraine() -> None:
    ua = defaults_for("UA")
    starts_at = at(KYIV, 2025, 6, 20, 9)
    assert lead_time_problem(ua, at(KYIV, 2025, 6, 1), starts_at, KYIV) is None
    assert lead_time_problem(ua, at(KYIV, 2025, 6, 15, 9), starts_at, KYIV) is None
    assert (
        lead_time_problem(ua, at(KYIV, 2025, 6, 15, 9, 1), starts_at, KYIV)
        == "only 4 days of notice; Ukraine requires 5 days"
    )
    assert (
        lead_time_problem(ua, at(KYIV, 2025, 6, 17, 8), starts_at, KYIV)
        == "only 3 days of notice; Ukraine requires 5 days"
    )
    assert (
        lead_time_problem(ua, at(KYIV, 2025, 6, 20, 1), starts_at, KYIV)
        == "less than a day of notice; Ukraine requires 5 days"
    )
    assert (
        lead_time_problem(ua, starts_at, starts_at, KYIV)
        == "no notice before the start; Ukraine requires 5 days"
    )


def test_calendar_days_across_dst_are_local_days() -> None:
    ua = defaults_for("UA")
    starts_at = at(KYIV, 2025, 3, 31, 9)
    # Exactly 5 local days earlier, though only 4 days 23 hours elapse.
    assert lead_time_problem(ua, at(KYIV, 2025, 3, 26, 9), starts_at, KYIV) is None


def test_business_days_with_slovene_holiday() -> None:
    si = dataclasses.replace(defaults_for("SI"), lead_time=LeadTime(3, LeadTimeUnit.BUSINESS_DAYS))
    assert (
        lead_time_problem(
            si, at(LJUBLJANA, 2025, 6, 23, 9), at(LJUBLJANA, 2025, 6, 27, 10), LJUBLJANA
        )
        == "only 2 business days of notice; Slovenia requires 3 business days"
    )
    assert (
        lead_time_problem(
            si, at(LJUBLJANA, 2025, 6, 30, 9), at(LJUBLJANA, 2025, 7, 4, 10), LJUBLJANA
        )
        is None
    )


def test_business_days_with_ukrainian_holidays() -> None:
    ua = dataclasses.replace(defaults_for("UA"), lead_time=LeadTime(3, LeadTimeUnit.BUSINESS_DAYS))
    # Fri 20 Aug 2021 -> Fri 27 Aug: weekend, 23 (day off), 24 (Independence Day), 25, 26.
    assert (
        lead_time_problem(ua, at(KYIV, 2021, 8, 20, 9), at(KYIV, 2021, 8, 27, 10), KYIV)
        == "only 2 business days of notice; Ukraine requires 3 business days"
    )


def test_business_days_with_bulgarian_holidays() -> None:
    bg = dataclasses.replace(defaults_for("BG"), lead_time=LeadTime(2, LeadTimeUnit.BUSINESS_DAYS))
    # Fri 5 Sep 2025 -> Wed 10 Sep: weekend, Mon 8 (Unification Day observed), Tue 9.
    assert (
        lead_time_problem(bg, at(SOFIA, 2025, 9, 5, 9), at(SOFIA, 2025, 9, 10, 10), SOFIA)
        == "only 1 business day of notice; Bulgaria requires 2 business days"
    )


def test_australian_default_over_easter() -> None:
    au = defaults_for("AU")
    # First notice (7 days ahead) Tue 15 Apr 2025; to Tue 22 Apr: Wed, Thu, then
    # Good Friday, the weekend and Easter Monday.
    assert (
        lead_time_problem(au, at(SYDNEY, 2025, 4, 1), at(SYDNEY, 2025, 4, 22, 9), SYDNEY)
        == "only 2 business days of notice; Australia requires 4 business days"
    )
    # An ordinary week: exactly 4 clear business days.
    assert lead_time_problem(au, at(SYDNEY, 2025, 5, 1), at(SYDNEY, 2025, 5, 20, 9), SYDNEY) is None


# ----------------------------------------------------------------- duration


def test_ukrainian_duration_limits() -> None:
    ua = defaults_for("UA")
    summer = at(KYIV, 2025, 6, 10, 8)
    assert duration_problem(ua, summer, summer + timedelta(hours=12), KYIV) is None
    assert (
        duration_problem(ua, summer, summer + timedelta(hours=13, minutes=30), KYIV)
        == "lasts 13 hours 30 minutes; Ukraine allows at most 12 hours"
    )
    winter = at(KYIV, 2025, 1, 10, 8)
    assert duration_problem(ua, winter, winter + timedelta(hours=6), KYIV) is None
    assert (
        duration_problem(ua, winter, winter + timedelta(hours=7), KYIV)
        == "lasts 7 hours; Ukraine allows at most 6 hours in winter"
    )


def test_duration_is_real_time_across_dst() -> None:
    ua = defaults_for("UA")
    # 00:00-12:00 on the night clocks go back lasts 13 hours.
    assert (
        duration_problem(ua, at(KYIV, 2025, 10, 26, 0), at(KYIV, 2025, 10, 26, 12), KYIV)
        == "lasts 13 hours; Ukraine allows at most 12 hours"
    )


def test_no_duration_limit_unless_configured() -> None:
    start = at(SOFIA, 2025, 1, 10, 8)
    assert duration_problem(defaults_for("BG"), start, start + timedelta(hours=30), SOFIA) is None
    capped = dataclasses.replace(defaults_for("BG"), max_duration_hours=8.5)
    assert (
        duration_problem(capped, start, start + timedelta(hours=9), SOFIA)
        == "lasts 9 hours; Bulgaria allows at most 8 hours 30 minutes"
    )


def test_winter_uses_local_months_and_either_end() -> None:
    ua = defaults_for("UA")
    # 30 Nov 23:00 local -> 1 Dec 02:00 local touches December.
    assert is_winter(ua, at(KYIV, 2025, 11, 30, 23), at(KYIV, 2025, 12, 1, 2), KYIV)
    # 1 Mar 00:30 Kyiv is still 28 Feb in UTC: local months decide.
    assert not is_winter(ua, at(KYIV, 2025, 3, 1, 0, 30), at(KYIV, 2025, 3, 1, 5), KYIV)
    assert is_winter(ua, at(KYIV, 2025, 3, 1, 0, 30), at(KYIV, 2025, 3, 1, 5), "UTC")


def test_format_duration() -> None:
    assert format_duration(timedelta(hours=1)) == "1 hour"
    assert format_duration(timedelta(minutes=45)) == "45 minutes"
    assert format_duration(timedelta(hours=2, minutes=1, seconds=59)) == "2 hours 1 minute"
    assert format_duration(timedelta(0)) == "0 minutes"


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="starts_at must be timezone-aware"):
        offset_due(DEFAULT_OFFSETS[0], datetime(2025, 6, 1, 9), KYIV)
