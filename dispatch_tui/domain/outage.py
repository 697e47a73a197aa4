"""The outage lifecycle as a pure state machine, with four-eyes built in.

``draft → submitted → approved → completed``, plus rejection (back to draft
with a reason), withdrawal (the author takes a submission back), cancellation
and amendment. Each transition takes a state and returns a new one or raises
:class:`TransitionError` whose text is meant for the person at the keyboard.
Role permissions are checked separately (:mod:`dispatch_tui.domain.roles`);
this module enforces what depends on the outage itself.

Decisions:

* Rejection is a reviewer's act: the author may not reject their own outage
  (they :func:`withdraw` it instead), just as they may not approve it.
* Nobody who changed the content since the last approval (``editors``:
  whoever edited the draft, withdrew and edited it, or moved the window) may
  approve it either: otherwise a shift lead could edit or move someone
  else's outage and wave the change through alone.
* Amending a draft changes the window only. Amending a submitted or approved
  outage bumps ``revision`` (so a review of the old window cannot approve the
  new one); an approved outage goes back to ``submitted``. An amendment
  notice is called for whenever notices already went out; it is sent after
  the new approval.
* An approved outage that has already ended cannot be cancelled; it is
  completed. Drafts and submissions can be cancelled at any time.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from dispatch_tui.domain.notice_plan import NoticeKind
from dispatch_tui.domain.rules import NoticeRules, duration_problem, utc

MAX_REASON_LENGTH = 1000


class OutageStatus(StrEnum):
    """The ``outage.status`` strings of the database."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


_STATUS_PHRASES = {
    OutageStatus.DRAFT: "a draft",
    OutageStatus.SUBMITTED: "waiting for approval",
    OutageStatus.APPROVED: "approved",
    OutageStatus.COMPLETED: "completed",
    OutageStatus.CANCELLED: "cancelled",
}


class TransitionError(Exception):
    """A refused transition; ``str()`` says why, in words for a person."""


@dataclass(frozen=True)
class OutageState:
    """What the lifecycle needs to know about an outage.

    ``notices_sent`` means customers were already told about some revision,
    which is what makes cancellations and amendments worth a notice.
    ``amended_by`` is whoever last changed the window (``None`` if nobody);
    ``editors`` is everyone who changed the content since the last approval.
    """

    status: OutageStatus
    created_by: str
    approved_by: str | None
    rejection_reason: str | None
    revision: int
    notices_sent: bool
    starts_at: datetime
    ends_at: datetime
    amended_by: str | None = None
    editors: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", OutageStatus(self.status))
        object.__setattr__(self, "editors", frozenset(self.editors))
        object.__setattr__(self, "starts_at", utc(self.starts_at, "starts_at"))
        object.__setattr__(self, "ends_at", utc(self.ends_at, "ends_at"))
        if self.ends_at <= self.starts_at:
            raise ValueError("an outage must end after it starts")
        if self.revision < 1:
            raise ValueError(f"revision starts at 1 (got {self.revision})")
        needs_approver = self.status in (OutageStatus.APPROVED, OutageStatus.COMPLETED)
        if needs_approver and self.approved_by is None:
            raise ValueError(f"an outage that is {self.status} must have an approver")
        if self.approved_by is not None and (
            self.approved_by in (self.created_by, self.amended_by)
            or self.approved_by in self.editors
        ):
            raise ValueError("four-eyes: the approver drafted or changed this outage")


def new_draft(created_by: str, starts_at: datetime, ends_at: datetime) -> OutageState:
    """A fresh draft at revision 1, as the database creates it."""
    return OutageState(
        status=OutageStatus.DRAFT,
        created_by=_actor(created_by),
        approved_by=None,
        rejection_reason=None,
        revision=1,
        notices_sent=False,
        starts_at=starts_at,
        ends_at=ends_at,
    )


@dataclass(frozen=True)
class Outcome:
    """A transition's new state and the follow-up notice it calls for, if any."""

    state: OutageState
    notice: NoticeKind | None = None


def _actor(actor: str) -> str:
    name = actor.strip()
    if not name:
        raise TransitionError("no user name given; every decision needs someone who made it")
    return name


def _expect(state: OutageState, wanted: OutageStatus, what: str) -> None:
    if state.status is not wanted:
        subject = "a draft" if wanted is OutageStatus.DRAFT else "an outage waiting for approval"
        raise TransitionError(
            f"only {subject} can be {what}; this outage is {_STATUS_PHRASES[state.status]}"
        )


def _not_own(state: OutageState, actor: str, instead: str) -> None:
    if actor == state.created_by:
        raise TransitionError(f"you drafted this outage; {instead}")
    if actor == state.amended_by:
        raise TransitionError(f"you changed this outage's window; {instead}")
    if actor in state.editors:
        raise TransitionError(f"you changed this outage since its last approval; {instead}")


def edit(state: OutageState, actor: str) -> OutageState:
    """Record an edit of a draft's content: the editor may no longer approve it."""
    name = _actor(actor)
    _expect(state, OutageStatus.DRAFT, "edited")
    return replace(state, editors=state.editors | {name})


def submit(state: OutageState, actor: str) -> OutageState:
    """Put a draft up for approval; a previous rejection reason is cleared."""
    _actor(actor)
    _expect(state, OutageStatus.DRAFT, "submitted")
    return replace(state, status=OutageStatus.SUBMITTED, rejection_reason=None)


def withdraw(state: OutageState, actor: str) -> OutageState:
    """Take a submission back to draft (what an author does instead of rejecting)."""
    _actor(actor)
    _expect(state, OutageStatus.SUBMITTED, "withdrawn")
    return replace(state, status=OutageStatus.DRAFT)


def approve(state: OutageState, actor: str) -> OutageState:
    """Approve a submitted outage; refused to its author and its last amender (rule 1)."""
    name = _actor(actor)
    _expect(state, OutageStatus.SUBMITTED, "approved")
    _not_own(state, name, "another shift lead must approve it")
    return replace(state, status=OutageStatus.APPROVED, approved_by=name, rejection_reason=None)


def reject(state: OutageState, actor: str, reason: str) -> OutageState:
    """Send a submitted outage back to draft with a reason the author will read."""
    name = _actor(actor)
    _expect(state, OutageStatus.SUBMITTED, "rejected")
    _not_own(state, name, "withdraw it instead of rejecting it")
    text = reason.strip()
    if not text:
        raise TransitionError("give a reason for the rejection; the author needs to know why")
    if len(text) > MAX_REASON_LENGTH:
        raise TransitionError(
            f"the reason is too long ({len(text)} characters; at most {MAX_REASON_LENGTH})"
        )
    return replace(state, status=OutageStatus.DRAFT, approved_by=None, rejection_reason=text)


def cancel(state: OutageState, actor: str, now: datetime) -> Outcome:
    """Cancel an outage; customers already told get a cancellation notice unless it has ended."""
    _actor(actor)
    now = utc(now, "now")
    if state.status is OutageStatus.COMPLETED:
        raise TransitionError("this outage is completed; it can no longer be cancelled")
    if state.status is OutageStatus.CANCELLED:
        raise TransitionError("this outage is already cancelled")
    if state.status is OutageStatus.APPROVED and now >= state.ends_at:
        raise TransitionError("this outage has already ended; complete it instead of cancelling")
    notice = NoticeKind.CANCELLATION if state.notices_sent and now < state.ends_at else None
    return Outcome(replace(state, status=OutageStatus.CANCELLED), notice)


def amend(
    state: OutageState, actor: str, new_start: datetime, new_end: datetime, now: datetime
) -> Outcome:
    """Change the window; a submitted or approved outage needs a new approval.

    The start of an outage already under way may stay in the past (the usual
    amendment at night is a later end); a *moved* start must be in the future.
    """
    name = _actor(actor)
    new_start, new_end = utc(new_start, "new_start"), utc(new_end, "new_end")
    now = utc(now, "now")
    if state.status in (OutageStatus.COMPLETED, OutageStatus.CANCELLED):
        raise TransitionError(
            f"this outage is {_STATUS_PHRASES[state.status]}; it can no longer be amended"
        )
    if new_end <= new_start:
        raise TransitionError("the outage must end after it starts")
    if new_start == state.starts_at and new_end == state.ends_at:
        raise TransitionError("the window is unchanged; there is nothing to amend")
    if new_start != state.starts_at and new_start <= now:
        raise TransitionError("the new start is in the past")
    if new_end <= now:
        raise TransitionError("the new end is in the past")
    # Amending an approved outage starts a new approval cycle with one editor.
    editors = frozenset({name}) if state.status is OutageStatus.APPROVED else state.editors | {name}
    if state.status is OutageStatus.DRAFT:
        return Outcome(replace(state, starts_at=new_start, ends_at=new_end, editors=editors))
    notice = NoticeKind.AMENDMENT if state.notices_sent else None
    return Outcome(
        replace(
            state,
            starts_at=new_start,
            ends_at=new_end,
            editors=editors,
            status=OutageStatus.SUBMITTED,
            approved_by=None,
            revision=state.revision + 1,
            amended_by=name,
        ),
        notice,
    )


def complete(state: OutageState, now: datetime) -> OutageState:
    """Close an approved outage once its planned end has passed."""
    now = utc(now, "now")
    if state.status is not OutageStatus.APPROVED:
        hint = (
            "; cancel it instead"
            if state.status in (OutageStatus.DRAFT, OutageStatus.SUBMITTED)
            else ""
        )
        raise TransitionError(
            f"only an approved outage can be completed; this outage is "
            f"{_STATUS_PHRASES[state.status]}{hint}"
        )
    if now < state.ends_at:
        raise TransitionError("the outage has not ended yet")
    return replace(state, status=OutageStatus.COMPLETED)


def can_send(state: OutageState) -> bool:
    """Rule 1: messages leave only for an outage approved by someone other than its author."""
    return (
        state.status is OutageStatus.APPROVED
        and state.approved_by is not None
        and state.approved_by not in (state.created_by, state.amended_by)
        and state.approved_by not in state.editors
    )


def validate_window(
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    rules: NoticeRules,
    *,
    tz: ZoneInfo | str | None = None,
    start_may_be_past: bool = False,
) -> list[str]:
    """Problems that block a window: order, a start in the past (unless
    ``start_may_be_past``: an outage under way keeping its start), the duration limit.

    ``tz`` decides which local month counts for winter limits; without it the
    UTC month is used, which differs only within hours of a month boundary.
    Lead time is a warning, not a problem: see ``rules.lead_time_problem``.
    """
    starts_at, ends_at, now = utc(starts_at, "starts_at"), utc(ends_at, "ends_at"), utc(now, "now")
    problems: list[str] = []
    if ends_at <= starts_at:
        problems.append("the outage must end after it starts")
    if starts_at <= now and not start_may_be_past:
        problems.append("the start must be in the future")
    if ends_at > starts_at:
        problem = duration_problem(rules, starts_at, ends_at, tz if tz is not None else "UTC")
        if problem is not None:
            problems.append(problem)
    return problems
