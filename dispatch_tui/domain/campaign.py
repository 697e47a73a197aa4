"""Campaigns (payment and meter-reading reminders) as a pure state machine.

``draft → submitted → approved → sending → done``, or ``cancelled`` from
any state before ``done``. The rules that depend on the campaign rather than
on the role (:mod:`dispatch_tui.domain.roles` says who may draft and approve,
as for outages) live here: four-eyes (nobody approves a campaign they
drafted), only a submitted campaign is approved, once; and what a draft must
be: a known kind, at least one channel, a due time not in the past, and for
a payment reminder a whole number of days overdue of at least 1.

Pure: no I/O. Refusals are :class:`dispatch_tui.domain.outage.TransitionError`
(the outage lifecycle's), with words for the person at the keyboard.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Final

from dispatch_tui.domain.outage import TransitionError
from dispatch_tui.domain.rules import utc

CHANNELS: Final = ("sms", "email", "telegram", "viber")
VALIDITY: Final = timedelta(days=3)
"""How long after its due time a campaign's message may still go: a reminder
that waited longer (a gateway down for days) is stale and expires."""
PAST_GRACE: Final = timedelta(minutes=1)
"""A due time this little in the past (typed "now", then a minute spent
reading the preview) still counts as now."""
MAX_DAYS_OVERDUE: Final = 3650


class CampaignKind(StrEnum):
    """`campaign.kind`; also the service its recipients consent to."""

    PAYMENT_REMINDER = "payment_reminder"
    READING_REMINDER = "reading_reminder"


class CampaignStatus(StrEnum):
    DRAFT = "draft"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    SENDING = "sending"
    DONE = "done"
    CANCELLED = "cancelled"


KIND_NAMES: Final = {
    CampaignKind.PAYMENT_REMINDER: "payment reminder",
    CampaignKind.READING_REMINDER: "meter-reading reminder",
}
_STATUS_PHRASES: Final = {
    CampaignStatus.DRAFT: "a draft",
    CampaignStatus.SUBMITTED: "waiting for approval",
    CampaignStatus.APPROVED: "approved",
    CampaignStatus.SENDING: "being sent",
    CampaignStatus.DONE: "sent",
    CampaignStatus.CANCELLED: "cancelled",
}


@dataclass(frozen=True)
class CampaignDraft:
    """What a dispatcher fills in; `min_days_overdue` only for payment reminders."""

    utility_id: int
    kind: str
    channels: Sequence[str]
    due_at: datetime
    min_days_overdue: int | None = None


def draft_problems(draft: CampaignDraft, now: datetime) -> list[str]:
    """Everything wrong with a draft, each a sentence naming the field; [] if none."""
    problems: list[str] = []
    try:
        kind = CampaignKind(draft.kind)
    except ValueError:
        kinds = ", ".join(k.value for k in CampaignKind)
        return [f"kind: {draft.kind!r} is not a campaign kind (one of: {kinds})"]
    if not draft.channels:
        problems.append("channels: choose at least one channel")
    unknown = [c for c in draft.channels if c not in CHANNELS]
    if unknown:
        problems.append(
            f"channels: {', '.join(map(repr, unknown))} unknown (one of: {', '.join(CHANNELS)})"
        )
    if len(set(draft.channels)) != len(draft.channels):
        problems.append("channels: each channel once")
    if draft.due_at.tzinfo is None:
        problems.append("due: a time with its time zone")
    elif draft.due_at < now - PAST_GRACE:
        problems.append(f"due: {draft.due_at:%Y-%m-%d %H:%M} UTC is in the past")
    days = draft.min_days_overdue
    if kind is CampaignKind.PAYMENT_REMINDER:
        if days is None or isinstance(days, bool) or not isinstance(days, int):
            problems.append("days overdue: a whole number of days (at least 1)")
        elif not 1 <= days <= MAX_DAYS_OVERDUE:
            problems.append(f"days overdue: {days} is not between 1 and {MAX_DAYS_OVERDUE}")
    elif days is not None:
        problems.append("days overdue: only payment reminders have one")
    return problems


def overdue_cutoff(today: date, min_days_overdue: int) -> date:
    """The latest due date that is at least `min_days_overdue` days overdue on
    `today` (the utility's local date): overdue by N days means due N days ago."""
    return today - timedelta(days=min_days_overdue)


@dataclass(frozen=True)
class CampaignState:
    status: CampaignStatus
    created_by: str
    approved_by: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "status", CampaignStatus(self.status))


def _refuse_unless(state: CampaignState, *allowed: CampaignStatus, act: str) -> None:
    if state.status not in allowed:
        raise TransitionError(f"this campaign is {_STATUS_PHRASES[state.status]}; {act}")


def submit(state: CampaignState, actor: str) -> CampaignState:
    _refuse_unless(state, CampaignStatus.DRAFT, act="only a draft is submitted")
    if actor != state.created_by:
        raise TransitionError("only its author submits a campaign")
    return CampaignState(CampaignStatus.SUBMITTED, state.created_by)


def approve(state: CampaignState, actor: str) -> CampaignState:
    _refuse_unless(state, CampaignStatus.SUBMITTED, act="only a submitted campaign is approved")
    if actor == state.created_by:
        raise TransitionError(
            "four-eyes: you drafted this campaign; another shift lead or an admin approves it"
        )
    return CampaignState(CampaignStatus.APPROVED, state.created_by, actor)


def cancel(state: CampaignState) -> CampaignState:
    _refuse_unless(
        state,
        CampaignStatus.DRAFT,
        CampaignStatus.SUBMITTED,
        CampaignStatus.APPROVED,
        CampaignStatus.SENDING,
        act="there is nothing left to cancel",
    )
    return CampaignState(CampaignStatus.CANCELLED, state.created_by, state.approved_by)


def expires_at(due_at: datetime) -> datetime:
    """The deadline of a campaign's messages (`VALIDITY` after it is due)."""
    return utc(due_at, "due_at") + VALIDITY
