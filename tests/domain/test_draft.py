"""One check of a draft against its utility's rules and the clock (domain.draft)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.draft import OutageDraft, check_draft, check_window
from dispatch_tui.domain.rules import defaults_for
from dispatch_tui.domain.selection import Selection

NOW = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
UA = defaults_for("UA")
SI = defaults_for("SI")


def draft(**changes: object) -> OutageDraft:
    base = OutageDraft(
        utility_id=1,
        title="Заміна опор",
        reason="планові роботи",
        starts_at=NOW + timedelta(days=10),
        ends_at=NOW + timedelta(days=10, hours=4),
        selection=Selection(nodes=frozenset({7})),
    )
    return OutageDraft(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_a_good_draft_has_no_problems_and_no_warnings() -> None:
    verdict = check_draft(draft(), UA, "Europe/Kyiv", NOW)
    assert verdict.ok and verdict.warnings == ()


def test_thirty_hours_in_ukraine_is_a_problem() -> None:
    long = draft(ends_at=NOW + timedelta(days=11, hours=6))
    verdict = check_draft(long, UA, "Europe/Kyiv", NOW)
    assert not verdict.ok
    assert any("allows at most 12 hours" in p for p in verdict.problems)


def test_a_start_in_the_past_is_a_problem() -> None:
    yesterday = draft(starts_at=NOW - timedelta(days=1), ends_at=NOW - timedelta(hours=20))
    assert "the start must be in the future" in check_draft(yesterday, SI, "UTC", NOW).problems


def test_short_notice_is_a_warning_not_a_problem() -> None:
    soon = draft(starts_at=NOW + timedelta(hours=20), ends_at=NOW + timedelta(hours=22))
    verdict = check_draft(soon, SI, "Europe/Ljubljana", NOW)
    assert verdict.ok
    assert any("Slovenia requires 48 hours" in w for w in verdict.warnings)


def test_content_problems_are_named() -> None:
    bad = draft(title=" ", reason="", selection=Selection(), channels=("fax",))
    problems = " ".join(check_draft(bad, SI, "UTC", NOW).problems)
    for words in ("give a title", "give the reason", "select at least one", "channels"):
        assert words in problems


def test_naive_times_are_refused_without_raising() -> None:
    naive = draft(starts_at=datetime(2026, 7, 1, 9), ends_at=datetime(2026, 7, 1, 10))
    assert "times must carry a time zone" in check_draft(naive, SI, "UTC", NOW).problems


def test_an_amendment_of_an_outage_under_way_may_keep_its_past_start() -> None:
    start = NOW - timedelta(hours=1)
    assert check_window(start, NOW + timedelta(hours=2), UA, "UTC", under_way=True, now=NOW) == []
    assert check_window(start, NOW + timedelta(hours=30), UA, "UTC", under_way=True, now=NOW)


@given(hours=st.integers(min_value=1, max_value=48), days=st.integers(min_value=6, max_value=60))
def test_the_ukrainian_duration_limit_holds_for_any_window(hours: int, days: int) -> None:
    start = NOW + timedelta(days=days)
    verdict = check_draft(
        draft(starts_at=start, ends_at=start + timedelta(hours=hours)), UA, "Europe/Kyiv", NOW
    )
    winter = start.month in (12, 1, 2) or (start + timedelta(hours=hours)).month in (12, 1, 2)
    assert verdict.ok == (hours <= (6 if winter else 12))
