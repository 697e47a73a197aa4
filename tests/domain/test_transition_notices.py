"""Which notices a transition creates, and for whom: one event, one message per person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch_tui.domain.notice_plan import ChannelGroup, NoticeKind
from dispatch_tui.domain.rules import defaults_for
from dispatch_tui.domain.transition_notices import Audience, Outline, on_approve, on_cancel

NOW = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def outline(starts_in: timedelta) -> Outline:
    start = NOW + starts_in
    return Outline(
        starts_at=start,
        ends_at=start + timedelta(hours=4),
        timezone="Europe/Ljubljana",
        rules=defaults_for("SI"),
        urgent=False,
        groups={ChannelGroup.MESSAGING},
        notice_kinds=("advance", "day_before", "day_of"),
    )


def kinds(notices: list) -> list[tuple[str, str]]:  # type: ignore[type-arg]
    return [(str(n.planned.kind), str(n.audience)) for n in notices]


def test_a_first_approval_sends_its_plan_to_everyone() -> None:
    notices = on_approve(
        outline(timedelta(days=10)), NOW, owed=None, told_window=None, kinds_sent=()
    )
    assert kinds(notices) == [("advance", "all"), ("day_before", "all"), ("day_of", "all")]


def test_short_notice_re_approval_amends_those_told_and_first_notices_the_rest() -> None:
    told = (NOW + timedelta(days=1), NOW + timedelta(days=1, hours=3))
    notices = on_approve(
        outline(timedelta(days=2)),
        NOW,
        owed=NoticeKind.AMENDMENT,
        told_window=told,
        kinds_sent=("immediate",),
    )
    assert kinds(notices) == [
        ("amendment", "told"),
        ("immediate", "untold"),
        ("day_before", "all"),
        ("day_of", "all"),
    ]
    assert notices[0].previous == told


def test_an_advance_already_sent_counts_as_the_first_notice() -> None:
    notices = on_approve(
        outline(timedelta(days=10)),
        NOW,
        owed=NoticeKind.AMENDMENT,
        told_window=(NOW, NOW + timedelta(hours=1)),
        kinds_sent=("advance", "day_before"),
    )
    by_kind = dict(kinds(notices))
    assert by_kind == {
        "amendment": "told",
        "advance": "untold",
        "day_before": "untold",
        "day_of": "all",
    }


def test_every_person_gets_one_message_per_event() -> None:
    """No two notices for one audience fall on the same instant and channel group."""
    for starts_in in (timedelta(hours=30), timedelta(days=2), timedelta(days=6)):
        notices = on_approve(
            outline(starts_in),
            NOW,
            owed=NoticeKind.AMENDMENT,
            told_window=(NOW, NOW + timedelta(hours=1)),
            kinds_sent=("immediate", "advance"),
        )
        for a in notices:
            for b in notices:
                if a is b or a.planned.due_at_utc != b.planned.due_at_utc:
                    continue
                # Two notices at one instant are for disjoint audiences.
                assert {a.audience, b.audience} == {Audience.TOLD, Audience.UNTOLD}


def test_cancel_tells_only_those_told_and_nothing_once_ended() -> None:
    o = outline(timedelta(days=3))
    assert kinds(on_cancel(o, NOW, told_anyone=True)) == [("cancellation", "told")]
    assert on_cancel(o, NOW, told_anyone=False) == []
    assert on_cancel(o, o.ends_at, told_anyone=True) == []
