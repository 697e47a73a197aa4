"""Tests for dispatch_tui.domain.notice_plan: offsets, DST, quiet hours, properties."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dispatch_tui.domain.notice_plan import (
    ChannelGroup,
    NoticeKind,
    PlannedNotice,
    channel_group,
    describe,
    in_quiet_hours,
    plan_follow_up,
    plan_notices,
    quiet_hours_problem,
    shift_out_of_quiet_hours,
)
from dispatch_tui.domain.rules import NoticeOffset, NoticeRules, defaults_for, offset_due

LJUBLJANA = ZoneInfo("Europe/Ljubljana")
KYIV = ZoneInfo("Europe/Kyiv")
SOFIA = ZoneInfo("Europe/Sofia")
ZONES = [LJUBLJANA, KYIV, SOFIA]
ALL_ZONES = [*ZONES, ZoneInfo("Australia/Sydney"), ZoneInfo("America/St_Johns"), ZoneInfo("UTC")]
SI = defaults_for("SI")
UA = defaults_for("UA")
BG = defaults_for("BG")
MSG, MAIL = ChannelGroup.MESSAGING, ChannelGroup.EMAIL
EARLY = datetime(2020, 1, 1, tzinfo=UTC)
NIGHT_START, NIGHT_END = time(21), time(8)


def at(tz: ZoneInfo, y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=tz)


def local(plan: list[PlannedNotice], tz: ZoneInfo) -> list[tuple[str, str, str]]:
    """A plan as (kind, group, local time) for readable assertions."""
    return [
        (n.kind.value, n.channel_group.value, n.due_at_utc.astimezone(tz).strftime("%m-%d %H:%M"))
        for n in plan
    ]


# ------------------------------------------------------------------- basics


def test_kinds_and_groups_match_the_database() -> None:
    assert [k.value for k in NoticeKind] == [
        "advance",
        "day_before",
        "day_of",
        "immediate",
        "amendment",
        "cancellation",
    ]
    assert channel_group("sms") is MSG
    assert channel_group("telegram") is MSG
    assert channel_group("viber") is MSG
    assert channel_group("email") is MAIL
    with pytest.raises(ValueError, match="unknown channel 'fax'"):
        channel_group("fax")


def test_seed_001_plan() -> None:
    """5 days before, 1 day before, and the morning of the day (07:00, SMS at 08:00)."""
    plan = plan_notices(at(SOFIA, 2025, 6, 20, 10), at(SOFIA, 2025, 6, 20, 14), SOFIA, BG, EARLY)
    assert local(plan, SOFIA) == [
        ("advance", "messaging", "06-15 10:00"),
        ("advance", "email", "06-15 10:00"),
        ("day_before", "messaging", "06-19 10:00"),
        ("day_before", "email", "06-19 10:00"),
        ("day_of", "email", "06-20 07:00"),
        ("day_of", "messaging", "06-20 08:00"),
    ]
    assert all(n.due_at_utc.tzinfo is UTC for n in plan)


@pytest.mark.parametrize("zone", ZONES, ids=str)
@pytest.mark.parametrize(
    "monday", [date(2025, 3, 31), date(2025, 10, 27), date(2024, 4, 1), date(2024, 10, 28)]
)
def test_dst_monday_still_gets_notices_at_local_time(zone: ZoneInfo, monday: date) -> None:
    starts_at = datetime.combine(monday, time(9), tzinfo=zone)
    plan = plan_notices(starts_at, starts_at + timedelta(hours=4), zone, SI, EARLY)
    by_kind = {n.kind: n for n in plan if n.channel_group is MSG}
    advance = by_kind[NoticeKind.ADVANCE].due_at_utc.astimezone(zone)
    day_before = by_kind[NoticeKind.DAY_BEFORE].due_at_utc.astimezone(zone)
    assert (advance.date(), advance.time()) == (monday - timedelta(days=5), time(9))
    assert (day_before.date(), day_before.time()) == (monday - timedelta(days=1), time(9))
    # Same wall clock, different UTC offset: the notice did not drift by an hour.
    assert advance.utcoffset() != starts_at.utcoffset()
    assert by_kind[NoticeKind.DAY_OF].due_at_utc.astimezone(zone).time() == time(8)


def test_kyiv_october_in_utc() -> None:
    starts_at = at(KYIV, 2025, 10, 27, 9)  # 07:00 UTC (EET)
    plan = plan_notices(starts_at, starts_at + timedelta(hours=3), KYIV, UA, EARLY)
    email = [(n.kind, n.due_at_utc) for n in plan if n.channel_group is MAIL]
    assert email == [
        (NoticeKind.ADVANCE, datetime(2025, 10, 22, 6, tzinfo=UTC)),  # 09:00 EEST
        (NoticeKind.DAY_BEFORE, datetime(2025, 10, 26, 7, tzinfo=UTC)),  # 09:00 EET
        (NoticeKind.DAY_OF, datetime(2025, 10, 27, 5, tzinfo=UTC)),  # 07:00 EET
    ]


def test_outage_already_started_gets_nothing() -> None:
    starts_at = at(LJUBLJANA, 2025, 6, 20, 9)
    ends_at = starts_at + timedelta(hours=2)
    assert plan_notices(starts_at, ends_at, LJUBLJANA, SI, starts_at) == []
    assert plan_notices(starts_at, ends_at, LJUBLJANA, SI, ends_at + timedelta(days=1)) == []


def test_bad_input_is_refused() -> None:
    starts_at = at(LJUBLJANA, 2025, 6, 20, 9)
    with pytest.raises(ValueError, match="end after it starts"):
        plan_notices(starts_at, starts_at, LJUBLJANA, SI, EARLY)
    with pytest.raises(ValueError, match="now must be timezone-aware"):
        plan_notices(starts_at, starts_at + timedelta(hours=1), LJUBLJANA, SI, datetime(2025, 1, 1))


def test_zone_may_be_given_by_name() -> None:
    starts_at = at(KYIV, 2025, 6, 20, 9)
    ends_at = starts_at + timedelta(hours=1)
    assert plan_notices(starts_at, ends_at, "Europe/Kyiv", UA, EARLY) == plan_notices(
        starts_at, ends_at, KYIV, UA, EARLY
    )


def test_groups_limit_the_plan() -> None:
    starts_at = at(KYIV, 2025, 6, 20, 9)
    plan = plan_notices(
        starts_at, starts_at + timedelta(hours=1), KYIV, UA, EARLY, groups=["email"]
    )
    assert {n.channel_group for n in plan} == {MAIL}
    assert len(plan) == 3


# ------------------------------------------------------------ late approval


def test_immediate_notice_when_first_offset_passed() -> None:
    starts_at = at(LJUBLJANA, 2025, 6, 20, 10)
    now = at(LJUBLJANA, 2025, 6, 17, 14, 30)
    plan = plan_notices(starts_at, starts_at + timedelta(hours=2), LJUBLJANA, SI, now)
    assert local(plan, LJUBLJANA) == [
        ("immediate", "messaging", "06-17 14:30"),
        ("immediate", "email", "06-17 14:30"),
        ("day_before", "messaging", "06-19 10:00"),
        ("day_before", "email", "06-19 10:00"),
        ("day_of", "email", "06-20 07:00"),
        ("day_of", "messaging", "06-20 08:00"),
    ]


def test_one_immediate_notice_however_many_offsets_passed() -> None:
    starts_at = at(LJUBLJANA, 2025, 6, 20, 10)
    now = at(LJUBLJANA, 2025, 6, 20, 7, 30)  # advance, day-before and day-of all passed
    plan = plan_notices(starts_at, starts_at + timedelta(hours=2), LJUBLJANA, SI, now)
    assert local(plan, LJUBLJANA) == [
        ("immediate", "email", "06-20 07:30"),
        ("immediate", "messaging", "06-20 08:00"),  # quiet hours until 08:00
    ]


def test_offset_due_exactly_now_is_kept_without_immediate() -> None:
    starts_at = at(LJUBLJANA, 2025, 6, 20, 10)
    now = at(LJUBLJANA, 2025, 6, 15, 10)
    plan = plan_notices(starts_at, starts_at + timedelta(hours=2), LJUBLJANA, SI, now)
    assert NoticeKind.IMMEDIATE not in {n.kind for n in plan}
    assert plan[0].kind is NoticeKind.ADVANCE
    assert plan[0].due_at_utc == now


def test_late_night_approval_merges_immediate_into_day_of() -> None:
    """Both SMS land on 08:00: one message, worded as the day-of notice."""
    starts_at = at(KYIV, 2025, 6, 10, 8, 30)
    now = at(KYIV, 2025, 6, 9, 23)
    plan = plan_notices(starts_at, starts_at + timedelta(hours=2), KYIV, UA, now)
    assert local(plan, KYIV) == [
        ("immediate", "email", "06-09 23:00"),
        ("day_of", "email", "06-10 07:00"),
        ("day_of", "messaging", "06-10 08:00"),
    ]


def test_identical_offsets_are_merged() -> None:
    rules = dataclasses.replace(
        SI, offsets=(NoticeOffset("day_of", 0, time(7)), NoticeOffset("day_of", 0, time(7)))
    )
    starts_at = at(LJUBLJANA, 2025, 6, 20, 10)
    plan = plan_notices(starts_at, starts_at + timedelta(hours=1), LJUBLJANA, rules, EARLY)
    assert len(plan) == 2


# -------------------------------------------------------------- quiet hours


@pytest.mark.parametrize(
    ("wall", "expected"),
    [
        ((6, 20, 23, 30), (6, 21, 8, 0)),  # after the window opened: next morning
        ((6, 21, 3, 0), (6, 21, 8, 0)),  # after midnight: same morning
        ((6, 20, 21, 0), (6, 21, 8, 0)),  # the window includes its start
        ((6, 21, 0, 0), (6, 21, 8, 0)),
        ((6, 20, 20, 59), (6, 20, 20, 59)),  # just before: unchanged
        ((6, 21, 8, 0), (6, 21, 8, 0)),  # the end is outside the window
        ((6, 21, 12, 0), (6, 21, 12, 0)),
    ],
)
def test_shift_with_window_wrapping_midnight(
    wall: tuple[int, int, int, int], expected: tuple[int, int, int, int]
) -> None:
    t = at(LJUBLJANA, 2025, *wall)
    shifted = shift_out_of_quiet_hours(t, LJUBLJANA, NIGHT_START, NIGHT_END)
    assert shifted == at(LJUBLJANA, 2025, *expected)
    assert shifted.tzinfo is UTC


def test_shift_with_window_inside_one_day() -> None:
    start, end = time(12), time(14)
    assert shift_out_of_quiet_hours(at(SOFIA, 2025, 6, 1, 13), SOFIA, start, end) == at(
        SOFIA, 2025, 6, 1, 14
    )
    assert shift_out_of_quiet_hours(at(SOFIA, 2025, 6, 1, 23), SOFIA, start, end) == at(
        SOFIA, 2025, 6, 1, 23
    )
    assert not in_quiet_hours(at(SOFIA, 2025, 6, 1, 11, 59), SOFIA, start, end)


def test_equal_bounds_mean_no_quiet_hours() -> None:
    t = at(SOFIA, 2025, 6, 1, 3)
    assert not in_quiet_hours(t, SOFIA, time(8), time(8))
    assert shift_out_of_quiet_hours(t, SOFIA, time(8), time(8)) == t


def test_shift_across_spring_forward_night() -> None:
    """01:30 CET -> 08:00 CEST: seven wall-clock hours but six real ones."""
    t = at(LJUBLJANA, 2025, 3, 30, 1, 30)
    shifted = shift_out_of_quiet_hours(t, LJUBLJANA, NIGHT_START, NIGHT_END)
    assert shifted == datetime(2025, 3, 30, 6, tzinfo=UTC)
    assert shifted.astimezone(LJUBLJANA).time() == time(8)


def test_shift_in_repeated_hour_never_goes_back() -> None:
    second_pass = datetime(2025, 10, 26, 2, 15, tzinfo=LJUBLJANA, fold=1)  # 02:15 CET
    shifted = shift_out_of_quiet_hours(second_pass, LJUBLJANA, time(2, 10), time(2, 20))
    assert shifted > second_pass
    assert shifted == datetime(2025, 10, 26, 1, 20, tzinfo=UTC)  # 02:20 CET


def test_quiet_hours_move_messaging_but_not_email() -> None:
    rules = dataclasses.replace(SI, offsets=(NoticeOffset("day_before", 1),))
    starts_at = at(LJUBLJANA, 2025, 6, 20, 22)  # day-before at 22:00: inside quiet hours
    plan = plan_notices(starts_at, starts_at + timedelta(hours=2), LJUBLJANA, rules, EARLY)
    assert local(plan, LJUBLJANA) == [
        ("day_before", "email", "06-19 22:00"),
        ("day_before", "messaging", "06-20 08:00"),
    ]


def test_urgent_ignores_quiet_hours() -> None:
    starts_at = at(LJUBLJANA, 2025, 6, 20, 6)
    now = at(LJUBLJANA, 2025, 6, 19, 23)
    plan = plan_notices(starts_at, starts_at + timedelta(hours=2), LJUBLJANA, SI, now, urgent=True)
    assert local(plan, LJUBLJANA) == [
        ("immediate", "messaging", "06-19 23:00"),
        ("immediate", "email", "06-19 23:00"),
        ("day_of", "messaging", "06-20 05:00"),
        ("day_of", "email", "06-20 05:00"),
    ]
    assert (
        quiet_hours_problem(starts_at, starts_at + timedelta(hours=2), LJUBLJANA, SI, now, True)
        is None
    )


def test_early_start_moves_sms_to_the_evening_before() -> None:
    """Day-of at 05:00 cannot wait until 08:00: it goes at 20:00 the evening before."""
    starts_at = at(KYIV, 2025, 6, 20, 6)
    plan = plan_notices(starts_at, starts_at + timedelta(hours=2), KYIV, UA, EARLY)
    assert local(plan, KYIV) == [
        ("advance", "email", "06-15 06:00"),
        ("advance", "messaging", "06-15 08:00"),
        ("day_before", "email", "06-19 06:00"),
        ("day_before", "messaging", "06-19 08:00"),
        ("day_of", "messaging", "06-19 20:00"),
        ("day_of", "email", "06-20 05:00"),
    ]


def test_labels_say_when_and_why_a_notice_moved() -> None:
    """The day-of SMS at 20:00 the evening before no longer reads "on the day"."""
    starts_at = at(KYIV, 2025, 6, 20, 6)
    plan = plan_notices(starts_at, starts_at + timedelta(hours=2), KYIV, UA, EARLY)
    assert [describe(n, KYIV) for n in plan] == [
        ("advance notice · e-mail", None),
        (
            "advance notice, sent when quiet hours end · SMS and bots",
            "due 06:00, in quiet hours 21:00–08:00",
        ),
        ("day-before notice · e-mail", None),
        (
            "day-before notice, sent when quiet hours end · SMS and bots",
            "due 06:00, in quiet hours 21:00–08:00",
        ),
        (
            "on-the-day notice, sent the evening before · SMS and bots",
            "due Fri 05:00, in quiet hours 21:00–08:00, which do not end before the start",
        ),
        ("on-the-day notice · e-mail", None),
    ]
    day_of = plan[4]
    assert day_of.shift is not None and day_of.shift.earlier
    assert day_of.shift.intended_at_utc == at(KYIV, 2025, 6, 20, 5)


def test_a_notice_moved_earlier_on_its_own_day_or_days_before() -> None:
    rules = dataclasses.replace(UA, offsets=(NoticeOffset("day_of", 0, time(22)),))
    starts_at = at(KYIV, 2025, 6, 20, 23)  # 22:00 is quiet until after the start: 20:00
    ends_at = starts_at + timedelta(hours=1)
    [sms] = plan_notices(starts_at, ends_at, KYIV, rules, EARLY, groups=[MSG])
    assert describe(sms, "Europe/Kyiv")[0] == "on-the-day notice, sent earlier · SMS and bots"
    rules = dataclasses.replace(UA, quiet_start=time(6), quiet_end=time(5))  # 23 quiet hours
    starts_at = at(KYIV, 2025, 6, 20, 4)
    plan = plan_notices(starts_at, starts_at + timedelta(hours=1), KYIV, rules, EARLY, groups=[MSG])
    assert [describe(n, KYIV)[0] for n in plan][-1] == (
        "on-the-day notice, sent the day before · SMS and bots"
    )


def test_evening_move_never_before_now() -> None:
    """Approved at 20:40: the evening slot (20:00) has passed, so the SMS goes now.

    It lands on the immediate SMS's instant and the two merge, keeping the
    day-of wording; e-mail keeps both.
    """
    starts_at = at(KYIV, 2025, 6, 20, 6)
    now = at(KYIV, 2025, 6, 19, 20, 40)
    plan = plan_notices(starts_at, starts_at + timedelta(hours=2), KYIV, UA, now)
    assert local(plan, KYIV) == [
        ("day_of", "messaging", "06-19 20:40"),
        ("immediate", "email", "06-19 20:40"),
        ("day_of", "email", "06-20 05:00"),
    ]


def test_no_room_before_start_drops_sms_and_warns() -> None:
    starts_at = at(KYIV, 2025, 6, 20, 6)
    ends_at = starts_at + timedelta(hours=2)
    now = at(KYIV, 2025, 6, 19, 23)
    plan = plan_notices(starts_at, ends_at, KYIV, UA, now)
    assert local(plan, KYIV) == [
        ("immediate", "email", "06-19 23:00"),
        ("day_of", "email", "06-20 05:00"),
    ]
    assert quiet_hours_problem(starts_at, ends_at, KYIV, UA, now) == (
        "the immediate and day-of SMS/bot notices cannot go out before the start outside "
        "quiet hours (21:00–08:00); mark the outage urgent to send them now"
    )
    assert quiet_hours_problem(starts_at, ends_at, KYIV, UA, EARLY) is None


def test_quiet_hours_problem_single_kind() -> None:
    rules = dataclasses.replace(UA, offsets=(NoticeOffset("day_of", 0, time(7)),))
    starts_at = at(KYIV, 2025, 6, 20, 6)
    problem = quiet_hours_problem(
        starts_at, starts_at + timedelta(hours=1), KYIV, rules, at(KYIV, 2025, 6, 19, 22)
    )
    assert problem is not None
    assert problem.startswith("the day-of SMS/bot notice cannot go out")
    assert problem.endswith("send it now")


# ----------------------------------------------------------------- follow-up


def test_cancellation_at_night_waits_for_morning() -> None:
    now = at(SOFIA, 2025, 6, 19, 23)
    plan = plan_follow_up(
        NoticeKind.CANCELLATION, now, SOFIA, BG, before=at(SOFIA, 2025, 6, 20, 10)
    )
    assert local(plan, SOFIA) == [
        ("cancellation", "email", "06-19 23:00"),
        ("cancellation", "messaging", "06-20 08:00"),
    ]


def test_follow_up_before_an_early_start_and_without_deadline() -> None:
    now = at(SOFIA, 2025, 6, 19, 23)
    early_start = at(SOFIA, 2025, 6, 20, 6)
    plan = plan_follow_up(NoticeKind.AMENDMENT, now, SOFIA, BG, before=early_start)
    assert local(plan, SOFIA) == [("amendment", "email", "06-19 23:00")]
    urgent = plan_follow_up(NoticeKind.AMENDMENT, now, SOFIA, BG, True, before=early_start)
    assert len(urgent) == 2
    no_deadline = plan_follow_up(NoticeKind.CANCELLATION, now, SOFIA, BG)
    assert local(no_deadline, SOFIA)[1] == ("cancellation", "messaging", "06-20 08:00")
    assert plan_follow_up(NoticeKind.CANCELLATION, now, SOFIA, BG, before=now) == []


# --------------------------------------------------------------- properties

zones = st.sampled_from(ALL_ZONES)
instants = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)
offsets = st.builds(
    NoticeOffset,
    kind=st.sampled_from(["advance", "day_before", "day_of"]),
    days_before=st.integers(0, 8),
    at=st.none() | st.times(),
)


@st.composite
def rules_strategy(draw: st.DrawFn) -> NoticeRules:
    base = draw(st.sampled_from([SI, UA, BG, defaults_for("AU"), defaults_for("GB")]))
    if draw(st.booleans()):
        return base
    return dataclasses.replace(
        base,
        quiet_start=draw(st.times()),
        quiet_end=draw(st.times()),
        offsets=tuple(draw(st.lists(offsets, max_size=4))),
    )


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[datetime, datetime, ZoneInfo, NoticeRules, datetime, bool]:
    starts_at = draw(instants)
    ends_at = starts_at + draw(st.timedeltas(timedelta(minutes=1), timedelta(hours=30)))
    now = starts_at - draw(st.timedeltas(timedelta(0), timedelta(days=12)))
    return starts_at, ends_at, draw(zones), draw(rules_strategy()), now, draw(st.booleans())


@settings(max_examples=400)
@given(scenarios())
def test_plan_invariants(
    scenario: tuple[datetime, datetime, ZoneInfo, NoticeRules, datetime, bool],
) -> None:
    starts_at, ends_at, zone, rules, now, urgent = scenario
    plan = plan_notices(starts_at, ends_at, zone, rules, now, urgent)
    dues = [n.due_at_utc for n in plan]
    assert dues == sorted(dues)
    assert len(set(plan)) == len(plan)
    assert len({(n.channel_group, n.due_at_utc) for n in plan}) == len(plan)
    for n in plan:
        assert n.due_at_utc.tzinfo is UTC
        assert now <= n.due_at_utc < starts_at
        if n.channel_group is MSG and not urgent:
            assert not in_quiet_hours(n.due_at_utc, zone, rules.quiet_start, rules.quiet_end)
        shift = n.shift
        if shift is not None:
            assert n.channel_group is MSG and not urgent
            assert in_quiet_hours(shift.intended_at_utc, zone, shift.quiet_start, shift.quiet_end)
            assert shift.earlier == (n.due_at_utc < shift.intended_at_utc)
            assert describe(n, zone)[1] is not None
    email = [n for n in plan if n.channel_group is MAIL]
    raw = [offset_due(o, starts_at, zone) for o in rules.offsets]
    immediate = bool(raw) and min(raw) < now and now < starts_at
    immediates = [n.due_at_utc for n in email if n.kind is NoticeKind.IMMEDIATE]
    assert immediates in ([now], [])  # at most one, always at `now`
    if immediate:
        # ...though an offset due exactly at `now` absorbs it (same instant, merged).
        assert any(n.due_at_utc == now for n in email)
    else:
        assert immediates == []
    for n in email:
        assert n.kind is NoticeKind.IMMEDIATE or n.due_at_utc in raw  # e-mail never moves
    if urgent:
        assert [n.due_at_utc for n in plan if n.channel_group is MSG] == [
            n.due_at_utc for n in email
        ]


@settings(max_examples=200)
@given(scenarios(), zones, zones, zones)
def test_plan_ignores_how_instants_are_written(
    scenario: tuple[datetime, datetime, ZoneInfo, NoticeRules, datetime, bool],
    z1: ZoneInfo,
    z2: ZoneInfo,
    z3: ZoneInfo,
) -> None:
    starts_at, ends_at, zone, rules, now, urgent = scenario
    reference = plan_notices(starts_at, ends_at, zone, rules, now, urgent)
    rewritten = plan_notices(
        starts_at.astimezone(z1), ends_at.astimezone(z2), zone, rules, now.astimezone(z3), urgent
    )
    assert rewritten == reference


@given(t=instants, zone=zones, start=st.times(), end=st.times())
def test_shift_lands_outside_quiet_hours(
    t: datetime, zone: ZoneInfo, start: time, end: time
) -> None:
    shifted = shift_out_of_quiet_hours(t, zone, start, end)
    assert shifted.tzinfo is UTC
    assert not in_quiet_hours(shifted, zone, start, end)
    if in_quiet_hours(t, zone, start, end):
        assert t < shifted <= t + timedelta(hours=26)
    else:
        assert shifted == t
