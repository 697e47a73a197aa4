"""Tests for dispatch_tui.domain.outage: the four-eyes lifecycle and every refusal."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.notice_plan import NoticeKind
from dispatch_tui.domain.outage import (
    MAX_REASON_LENGTH,
    OutageState,
    OutageStatus,
    Outcome,
    TransitionError,
    amend,
    approve,
    can_send,
    cancel,
    complete,
    edit,
    new_draft,
    reject,
    submit,
    validate_window,
    withdraw,
)
from dispatch_tui.domain.rules import defaults_for

KYIV = ZoneInfo("Europe/Kyiv")
START = datetime(2025, 6, 20, 9, tzinfo=KYIV)
END = START + timedelta(hours=4)
BEFORE = START - timedelta(days=10)
AUTHOR, LEAD, OTHER = "olena", "taras", "ivan"


def state(status: OutageStatus = OutageStatus.DRAFT, **changes: object) -> OutageState:
    base = new_draft(AUTHOR, START, END)
    if status in (OutageStatus.APPROVED, OutageStatus.COMPLETED):
        changes.setdefault("approved_by", LEAD)
    return dataclasses.replace(base, status=status, **changes)  # type: ignore[arg-type]


# ------------------------------------------------------------------ happy path


def test_full_four_eyes_lifecycle() -> None:
    s = new_draft(AUTHOR, START, END)
    assert (s.status, s.revision, s.approved_by, s.notices_sent) == (
        OutageStatus.DRAFT,
        1,
        None,
        False,
    )
    assert not can_send(s)
    s = submit(s, AUTHOR)
    assert s.status is OutageStatus.SUBMITTED and not can_send(s)
    s = reject(s, LEAD, "  wrong feeder  ")
    assert (s.status, s.rejection_reason) == (OutageStatus.DRAFT, "wrong feeder")
    s = submit(s, AUTHOR)
    assert s.rejection_reason is None
    s = approve(s, LEAD)
    assert (s.status, s.approved_by) == (OutageStatus.APPROVED, LEAD)
    assert can_send(s)
    s = complete(dataclasses.replace(s, notices_sent=True), END)
    assert s.status is OutageStatus.COMPLETED
    assert not can_send(s)


def test_times_are_stored_in_utc() -> None:
    s = new_draft(AUTHOR, START, END)
    assert s.starts_at.tzinfo is UTC
    assert s.starts_at == START


def test_withdraw_is_what_an_author_does_instead_of_rejecting() -> None:
    s = withdraw(submit(new_draft(AUTHOR, START, END), AUTHOR), AUTHOR)
    assert s.status is OutageStatus.DRAFT and s.rejection_reason is None


def test_actor_names_are_trimmed() -> None:
    s = approve(submit(new_draft(AUTHOR, START, END), AUTHOR), f" {LEAD} ")
    assert s.approved_by == LEAD


# ------------------------------------------------------------- four-eyes refusals


def test_author_cannot_approve() -> None:
    with pytest.raises(TransitionError) as info:
        approve(state(OutageStatus.SUBMITTED), AUTHOR)
    assert str(info.value) == "you drafted this outage; another shift lead must approve it"
    with pytest.raises(TransitionError, match="you drafted this outage"):
        approve(state(OutageStatus.SUBMITTED), f"  {AUTHOR}\n")


def test_author_cannot_reject() -> None:
    with pytest.raises(TransitionError) as info:
        reject(state(OutageStatus.SUBMITTED), AUTHOR, "changed my mind")
    assert str(info.value) == "you drafted this outage; withdraw it instead of rejecting it"


def test_amender_cannot_approve_own_change() -> None:
    approved = state(OutageStatus.APPROVED)
    moved = amend(approved, OTHER, START + timedelta(days=1), END + timedelta(days=1), BEFORE)
    with pytest.raises(TransitionError) as info:
        approve(moved.state, OTHER)
    assert str(info.value) == "you changed this outage's window; another shift lead must approve it"
    with pytest.raises(TransitionError, match="withdraw it instead"):
        reject(moved.state, OTHER, "no")
    assert approve(moved.state, LEAD).approved_by == LEAD


def test_blank_actor_is_refused() -> None:
    with pytest.raises(TransitionError, match="no user name given"):
        approve(state(OutageStatus.SUBMITTED), "  ")


def test_state_itself_refuses_self_approval() -> None:
    with pytest.raises(ValueError, match="four-eyes"):
        state(OutageStatus.APPROVED, approved_by=AUTHOR)
    with pytest.raises(ValueError, match="four-eyes"):
        state(OutageStatus.APPROVED, approved_by=OTHER, amended_by=OTHER)
    with pytest.raises(ValueError, match="must have an approver"):
        dataclasses.replace(new_draft(AUTHOR, START, END), status=OutageStatus.APPROVED)


def test_state_validation() -> None:
    with pytest.raises(ValueError, match="end after it starts"):
        new_draft(AUTHOR, START, START)
    with pytest.raises(ValueError, match="starts_at must be timezone-aware"):
        new_draft(AUTHOR, datetime(2025, 6, 20, 9), END)
    with pytest.raises(ValueError, match="revision starts at 1"):
        state(revision=0)
    assert state(status="submitted").status is OutageStatus.SUBMITTED  # type: ignore[arg-type]


def test_can_send_only_when_approved_by_someone_else() -> None:
    assert can_send(state(OutageStatus.APPROVED))
    for status in (OutageStatus.DRAFT, OutageStatus.SUBMITTED, OutageStatus.CANCELLED):
        assert not can_send(state(status))
    assert not can_send(state(OutageStatus.COMPLETED))


# ------------------------------------------------------- refused by status


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (
            OutageStatus.SUBMITTED,
            "only a draft can be submitted; this outage is waiting for approval",
        ),
        (OutageStatus.APPROVED, "only a draft can be submitted; this outage is approved"),
        (OutageStatus.COMPLETED, "only a draft can be submitted; this outage is completed"),
        (OutageStatus.CANCELLED, "only a draft can be submitted; this outage is cancelled"),
    ],
)
def test_submit_refused(status: OutageStatus, message: str) -> None:
    with pytest.raises(TransitionError) as info:
        submit(state(status), AUTHOR)
    assert str(info.value) == message


@pytest.mark.parametrize(
    "status",
    [OutageStatus.DRAFT, OutageStatus.APPROVED, OutageStatus.COMPLETED, OutageStatus.CANCELLED],
)
def test_approve_reject_withdraw_need_a_submission(status: OutageStatus) -> None:
    phrase = "a draft" if status is OutageStatus.DRAFT else status.value
    acts: dict[str, Callable[[OutageState], OutageState]] = {
        "approved": lambda s: approve(s, LEAD),
        "rejected": lambda s: reject(s, LEAD, "no"),
        "withdrawn": lambda s: withdraw(s, AUTHOR),
    }
    for verb, act in acts.items():
        with pytest.raises(TransitionError) as info:
            act(state(status))
        assert str(info.value) == (
            f"only an outage waiting for approval can be {verb}; this outage is {phrase}"
        )


@pytest.mark.parametrize(
    ("reason", "message"),
    [
        ("", "give a reason for the rejection; the author needs to know why"),
        ("   \n\t", "give a reason for the rejection; the author needs to know why"),
        ("x" * (MAX_REASON_LENGTH + 1), "the reason is too long (1001 characters; at most 1000)"),
    ],
)
def test_reject_needs_a_reasonable_reason(reason: str, message: str) -> None:
    with pytest.raises(TransitionError) as info:
        reject(state(OutageStatus.SUBMITTED), LEAD, reason)
    assert str(info.value) == message


def test_reject_accepts_the_maximum_length() -> None:
    reason = "x" * MAX_REASON_LENGTH
    assert reject(state(OutageStatus.SUBMITTED), LEAD, reason).rejection_reason == reason


# ------------------------------------------------------------------ cancel


@pytest.mark.parametrize(
    "status", [OutageStatus.DRAFT, OutageStatus.SUBMITTED, OutageStatus.APPROVED]
)
def test_cancel_before_any_notice_needs_no_notice(status: OutageStatus) -> None:
    outcome = cancel(state(status), OTHER, BEFORE)
    assert outcome == Outcome(dataclasses.replace(state(status), status=OutageStatus.CANCELLED))
    assert outcome.notice is None
    assert not can_send(outcome.state)


def test_cancel_after_notices_sends_a_cancellation() -> None:
    told = state(OutageStatus.APPROVED, notices_sent=True)
    assert cancel(told, OTHER, BEFORE).notice is NoticeKind.CANCELLATION
    # Works abandoned half-way: customers still hear that it is off.
    assert cancel(told, OTHER, START + timedelta(hours=1)).notice is NoticeKind.CANCELLATION


def test_cancel_an_amended_outage_that_was_announced() -> None:
    told = state(OutageStatus.SUBMITTED, notices_sent=True, revision=2)
    assert cancel(told, OTHER, BEFORE).notice is NoticeKind.CANCELLATION


@pytest.mark.parametrize(
    ("s", "now", "message"),
    [
        (
            state(OutageStatus.COMPLETED),
            END + timedelta(hours=1),
            "this outage is completed; it can no longer be cancelled",
        ),
        (state(OutageStatus.CANCELLED), BEFORE, "this outage is already cancelled"),
        (
            state(OutageStatus.APPROVED),
            END,
            "this outage has already ended; complete it instead of cancelling",
        ),
    ],
)
def test_cancel_refused(s: OutageState, now: datetime, message: str) -> None:
    with pytest.raises(TransitionError) as info:
        cancel(s, OTHER, now)
    assert str(info.value) == message


def test_stale_draft_can_still_be_cancelled() -> None:
    assert cancel(state(), AUTHOR, END + timedelta(days=3)).state.status is OutageStatus.CANCELLED


# ------------------------------------------------------------------- amend


def test_amend_approved_needs_new_approval_and_amendment_notice() -> None:
    told = state(OutageStatus.APPROVED, notices_sent=True)
    new_start, new_end = START + timedelta(days=2), END + timedelta(days=2)
    outcome = amend(told, OTHER, new_start, new_end, BEFORE)
    s = outcome.state
    assert (s.status, s.approved_by, s.revision, s.amended_by) == (
        OutageStatus.SUBMITTED,
        None,
        2,
        OTHER,
    )
    assert (s.starts_at, s.ends_at) == (new_start, new_end)
    assert s.notices_sent
    assert outcome.notice is NoticeKind.AMENDMENT
    assert not can_send(s)
    approved_again = approve(s, LEAD)
    assert can_send(approved_again) and approved_again.revision == 2


def test_amend_approved_before_any_notice_needs_no_amendment_notice() -> None:
    outcome = amend(state(OutageStatus.APPROVED), OTHER, START, END + timedelta(hours=1), BEFORE)
    assert outcome.notice is None
    assert outcome.state.status is OutageStatus.SUBMITTED


def test_amend_submitted_bumps_revision() -> None:
    outcome = amend(state(OutageStatus.SUBMITTED), AUTHOR, START, END + timedelta(hours=1), BEFORE)
    assert (outcome.state.status, outcome.state.revision) == (OutageStatus.SUBMITTED, 2)


def test_amend_draft_only_moves_the_window() -> None:
    outcome = amend(state(), AUTHOR, START, END + timedelta(hours=1), BEFORE)
    assert (outcome.state.status, outcome.state.revision, outcome.notice) == (
        OutageStatus.DRAFT,
        1,
        None,
    )


def test_amend_running_outage_to_end_later() -> None:
    """The usual night-time amendment: the works overrun, the start is history."""
    running = state(OutageStatus.APPROVED, notices_sent=True)
    outcome = amend(running, OTHER, START, END + timedelta(hours=2), START + timedelta(hours=3))
    assert outcome.state.ends_at == END + timedelta(hours=2)
    assert outcome.notice is NoticeKind.AMENDMENT


@pytest.mark.parametrize(
    ("s", "window", "now", "message"),
    [
        (
            state(OutageStatus.COMPLETED),
            (START, END + timedelta(hours=1)),
            BEFORE,
            "this outage is completed; it can no longer be amended",
        ),
        (
            state(OutageStatus.CANCELLED),
            (START, END + timedelta(hours=1)),
            BEFORE,
            "this outage is cancelled; it can no longer be amended",
        ),
        (state(), (END, START), BEFORE, "the outage must end after it starts"),
        (state(), (START, END), BEFORE, "the window is unchanged; there is nothing to amend"),
        (
            state(OutageStatus.APPROVED),
            (START - timedelta(hours=1), END),
            START - timedelta(minutes=30),
            "the new start is in the past",
        ),
        (
            state(OutageStatus.APPROVED),
            (START, START + timedelta(hours=1)),
            START + timedelta(hours=2),
            "the new end is in the past",
        ),
    ],
)
def test_amend_refused(
    s: OutageState, window: tuple[datetime, datetime], now: datetime, message: str
) -> None:
    with pytest.raises(TransitionError) as info:
        amend(s, OTHER, *window, now)
    assert str(info.value) == message


def test_amend_window_in_another_zone_is_the_same_window() -> None:
    with pytest.raises(TransitionError, match="unchanged"):
        amend(state(), AUTHOR, START.astimezone(UTC), END.astimezone(UTC), BEFORE)


# ---------------------------------------------------------------- complete


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (
            OutageStatus.DRAFT,
            "only an approved outage can be completed; this outage is a draft; cancel it instead",
        ),
        (
            OutageStatus.SUBMITTED,
            "only an approved outage can be completed; "
            "this outage is waiting for approval; cancel it instead",
        ),
        (
            OutageStatus.CANCELLED,
            "only an approved outage can be completed; this outage is cancelled",
        ),
        (
            OutageStatus.COMPLETED,
            "only an approved outage can be completed; this outage is completed",
        ),
    ],
)
def test_complete_refused_by_status(status: OutageStatus, message: str) -> None:
    with pytest.raises(TransitionError) as info:
        complete(state(status), END + timedelta(hours=1))
    assert str(info.value) == message


def test_complete_not_before_the_end() -> None:
    with pytest.raises(TransitionError, match="has not ended yet"):
        complete(state(OutageStatus.APPROVED), END - timedelta(seconds=1))


# --------------------------------------------------------------- validation


def test_validate_window() -> None:
    ua = defaults_for("UA")
    assert validate_window(START, END, BEFORE, ua, tz=KYIV) == []
    assert validate_window(END, START, BEFORE, ua) == ["the outage must end after it starts"]
    assert validate_window(START, END, START, ua) == ["the start must be in the future"]
    assert validate_window(START, START + timedelta(hours=13), BEFORE, ua, tz="Europe/Kyiv") == [
        "lasts 13 hours; Ukraine allows at most 12 hours"
    ]
    winter = datetime(2025, 1, 15, 9, tzinfo=KYIV)
    assert validate_window(
        winter, winter + timedelta(hours=7), winter - timedelta(days=9), ua, tz=KYIV
    ) == ["lasts 7 hours; Ukraine allows at most 6 hours in winter"]
    assert validate_window(START, START + timedelta(hours=30), BEFORE, defaults_for("BG")) == []


def test_validate_window_across_dst_counts_real_hours() -> None:
    """00:00-12:00 Kyiv on 26 Oct 2025 lasts 13 hours: Python would say 12 for one zone."""
    ua = defaults_for("UA")
    start = datetime(2025, 10, 26, 0, tzinfo=KYIV)
    problems = validate_window(start, datetime(2025, 10, 26, 12, tzinfo=KYIV), BEFORE, ua, tz=KYIV)
    assert problems == ["lasts 13 hours; Ukraine allows at most 12 hours"]


# --------------------------------------------------------------- property

ACTORS = [AUTHOR, LEAD, OTHER]
ops = st.sampled_from(
    ["submit", "withdraw", "edit", "approve", "reject", "cancel", "amend", "complete"]
)


@given(st.lists(st.tuples(ops, st.sampled_from(ACTORS), st.integers(0, 3)), max_size=25))
def test_no_sequence_of_acts_defeats_four_eyes(steps: list[tuple[str, str, int]]) -> None:
    s = new_draft(AUTHOR, START, END)
    now = BEFORE
    for op, actor, n in steps:
        before = s
        try:
            if op == "submit":
                s = submit(s, actor)
            elif op == "withdraw":
                s = withdraw(s, actor)
            elif op == "edit":
                s = edit(s, actor)
            elif op == "approve":
                s = approve(s, actor)
            elif op == "reject":
                s = reject(s, actor, "reason")
            elif op == "cancel":
                s = cancel(s, actor, now).state
            elif op == "amend":
                s = amend(s, actor, s.starts_at, s.ends_at + timedelta(hours=n + 1), now).state
            else:
                s = complete(s, s.ends_at)
        except TransitionError:
            assert s == before
        if can_send(s):
            assert s.approved_by is not None
            assert s.approved_by not in (s.created_by, s.amended_by)
            assert s.approved_by not in s.editors
        assert s.revision >= before.revision
        if s.status is OutageStatus.APPROVED:
            # whoever approved last was never the author nor the last amender
            assert s.approved_by != AUTHOR
