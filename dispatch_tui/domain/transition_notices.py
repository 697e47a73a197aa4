"""Which notices an outage transition creates, and who each one is for.

Pure: storage applies the answer in the transition's transaction. The rule
is one event, one message per person:

* Cancelling sends one cancellation, only to those already told.
* Approving a revision after an amendment sends the amendment to those
  already told, and the revision's own plan sends each kind of notice only
  to those who have not had it: a person told "5 days before" about the old
  window gets "moved to …", not a second "planned outage" in the same
  second; someone newly affected gets the ordinary first notice.
* Approving a first revision sends its plan to everyone affected.

"Had it" is per kind class: the advance notice and the immediate notice that
replaces it when the advance time has passed are both the *first* notice.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from dispatch_tui.domain.notice_plan import (
    ChannelGroup,
    NoticeKind,
    PlannedNotice,
    plan_follow_up,
    plan_notices,
)
from dispatch_tui.domain.rules import NoticeRules


class Audience(StrEnum):
    """The ``notice.audience`` strings of the database."""

    ALL = "all"
    """Everyone affected with consent."""
    TOLD = "told"
    """Only contacts an earlier notice of this outage reached (follow-ups)."""
    UNTOLD = "untold"
    """Only affected contacts no earlier notice of this outage reached."""


@dataclass(frozen=True)
class NewNotice:
    """One notice row to create: ``previous`` is the window customers were told."""

    planned: PlannedNotice
    audience: Audience
    previous: tuple[datetime, datetime] | None = None


@dataclass(frozen=True)
class Outline:
    """What storage knows of an outage when it decides its notices."""

    starts_at: datetime
    ends_at: datetime
    timezone: ZoneInfo | str
    rules: NoticeRules
    urgent: bool
    groups: Collection[ChannelGroup]
    notice_kinds: Collection[str]


_FIRST = "first"
_CLASS = {
    NoticeKind.ADVANCE: _FIRST,
    NoticeKind.IMMEDIATE: _FIRST,
    NoticeKind.DAY_BEFORE: "day_before",
    NoticeKind.DAY_OF: "day_of",
}


def kind_class(kind: NoticeKind | str) -> str | None:
    """The class a timed notice counts as for "already had it"; None for follow-ups."""
    return _CLASS.get(NoticeKind(kind))


def on_cancel(outline: Outline, now: datetime, *, told_anyone: bool) -> list[NewNotice]:
    """The cancellation notice, if anyone was told and the outage has not ended."""
    if not told_anyone or now >= outline.ends_at:
        return []
    planned = plan_follow_up(
        NoticeKind.CANCELLATION,
        now,
        outline.timezone,
        outline.rules,
        outline.urgent,
        before=outline.starts_at if now < outline.starts_at else None,
        groups=outline.groups,
    )
    return [NewNotice(p, Audience.TOLD) for p in planned]


def on_approve(
    outline: Outline,
    now: datetime,
    *,
    owed: NoticeKind | None,
    told_window: tuple[datetime, datetime] | None,
    kinds_sent: Collection[str],
) -> list[NewNotice]:
    """The notices an approval creates.

    ``owed`` is the follow-up an amendment left for this approval (with the
    window customers were told); ``kinds_sent`` are the kinds of this
    outage's notices that already went out under earlier revisions.
    """
    notices: list[NewNotice] = []
    if owed is not None:
        if told_window is None:
            raise ValueError("an owed amendment needs the window customers were told")
        notices += [
            NewNotice(p, Audience.TOLD, told_window)
            for p in plan_follow_up(
                owed,
                now,
                outline.timezone,
                outline.rules,
                outline.urgent,
                before=outline.starts_at,
                groups=outline.groups,
            )
        ]
    had = {kind_class(k) for k in kinds_sent} - {None}
    wanted = set(outline.notice_kinds) | {str(NoticeKind.IMMEDIATE)}
    for p in plan_notices(
        outline.starts_at,
        outline.ends_at,
        outline.timezone,
        outline.rules,
        now,
        outline.urgent,
        groups=outline.groups,
    ):
        if str(p.kind) not in wanted:
            continue
        audience = Audience.UNTOLD if kind_class(p.kind) in had else Audience.ALL
        notices.append(NewNotice(p, audience))
    return notices
