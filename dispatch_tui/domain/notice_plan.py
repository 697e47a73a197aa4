"""When an outage's notices go out: offsets, the immediate notice, quiet hours.

The plan is computed from instants only, so the same start and ``now`` give
the same plan whatever zone the caller's datetimes carry, and every due time
comes back in UTC (rule 5). Offsets are counted on the utility's local
calendar (:func:`dispatch_tui.domain.rules.offset_due`).

Decisions:

* Messaging (SMS, Telegram, Viber) respects quiet hours; e-mail does not and
  is never moved. A messaging notice that falls in quiet hours moves to the
  end of the window. If that would be at or after the outage start, it moves
  *earlier* instead, to :data:`EVENING_MARGIN` before the window began (20:00
  for 21:00–08:00) so that a large fan-out finishes before quiet hours, but
  never before ``now`` nor into the previous window. If even that is
  impossible (``now`` is already inside the quiet window that runs into the
  start), the messaging notice is dropped rather than sent at night;
  :func:`quiet_hours_problem` says so, and marking the outage urgent sends it.
* An outage whose configured day-of time (07:00) is not before its start gets
  its day-of notice one hour before the start (``rules.SAME_DAY_FALLBACK``).
* Duplicates (same channel group, same instant) are merged, keeping the kind
  that comes later in the sequence (``day_of`` over ``immediate``): its text
  fits the moment it is sent.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from dispatch_tui.domain.rules import (
    NoticeRules,
    as_zone,
    local_instant,
    offset_due,
    utc,
)


class NoticeKind(StrEnum):
    """The ``notice.kind`` strings of the database."""

    ADVANCE = "advance"
    DAY_BEFORE = "day_before"
    DAY_OF = "day_of"
    IMMEDIATE = "immediate"
    AMENDMENT = "amendment"
    CANCELLATION = "cancellation"


class ChannelGroup(StrEnum):
    """Channels that share timing: messaging obeys quiet hours, e-mail does not."""

    MESSAGING = "messaging"
    EMAIL = "email"


MESSAGING_CHANNELS: frozenset[str] = frozenset({"sms", "telegram", "viber"})
ALL_GROUPS: tuple[ChannelGroup, ...] = (ChannelGroup.MESSAGING, ChannelGroup.EMAIL)

EVENING_MARGIN = timedelta(hours=1)
"""How long before quiet hours begin a notice goes when it cannot wait until they end."""


def channel_group(channel: str) -> ChannelGroup:
    """The timing group of a contact channel (``"sms"`` → messaging)."""
    if channel == "email":
        return ChannelGroup.EMAIL
    if channel in MESSAGING_CHANNELS:
        return ChannelGroup.MESSAGING
    raise ValueError(f"unknown channel {channel!r}")


@dataclass(frozen=True)
class QuietShift:
    """Why a messaging notice is not sent when its offset says: quiet hours.

    ``earlier``: the window ends at or after the outage's start, so the
    notice goes out before the window begins instead of after it ends.
    """

    intended_at_utc: datetime
    quiet_start: time
    quiet_end: time
    earlier: bool


@dataclass(frozen=True)
class PlannedNotice:
    """One timed notice for one channel group; ``due_at_utc`` is always in UTC.

    ``shift`` says when and why a messaging notice was moved (None: sent at
    its offset's time); :func:`describe` turns it into words.
    """

    kind: NoticeKind
    due_at_utc: datetime
    channel_group: ChannelGroup
    shift: QuietShift | None = None


# ----------------------------------------------------------------- quiet hours


def in_quiet_hours(t: datetime, tz: ZoneInfo | str, start: time, end: time) -> bool:
    """Whether the local wall clock at ``t`` is inside ``[start, end)``.

    The window wraps midnight when ``start > end``; ``start == end`` means no
    quiet hours at all.
    """
    wall = utc(t, "t").astimezone(as_zone(tz)).time()
    if start < end:
        return start <= wall < end
    if start > end:
        return wall >= start or wall < end
    return False


def shift_out_of_quiet_hours(t: datetime, tz: ZoneInfo | str, start: time, end: time) -> datetime:
    """``t`` moved to the end of the quiet window it falls in (UTC); unchanged otherwise."""
    zone = as_zone(tz)
    t = utc(t, "t")
    if not in_quiet_hours(t, zone, start, end):
        return t
    local = t.astimezone(zone)
    day = local.date()
    if start > end and local.time() >= start:
        day += timedelta(days=1)
    moved = local_instant(day, end, zone)
    if moved <= t:
        # Inside the hour repeated when clocks go back: the second occurrence.
        naive = datetime.combine(day, end.replace(tzinfo=None))
        moved = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    return moved


def _quiet_window_bounds(
    t: datetime, zone: ZoneInfo, start: time, end: time
) -> tuple[datetime, datetime]:
    """For a quiet ``t``: when its window began, and when the window before it ended."""
    local = t.astimezone(zone)
    day = local.date()
    if start > end and local.time() < end:
        day -= timedelta(days=1)
    began = local_instant(day, start, zone)
    previous_end = local_instant(day, end, zone)
    if previous_end >= began:
        previous_end = local_instant(day - timedelta(days=1), end, zone)
    return began, previous_end


def _place_messaging(
    due: datetime,
    *,
    now: datetime,
    before: datetime | None,
    zone: ZoneInfo,
    rules: NoticeRules,
) -> datetime | None:
    """Where a messaging notice due at ``due`` goes; ``None`` if nowhere fits."""
    start, end = rules.quiet_start, rules.quiet_end
    moved = shift_out_of_quiet_hours(due, zone, start, end)
    if before is None or moved < before:
        return moved
    began, previous_end = _quiet_window_bounds(due, zone, start, end)
    earlier = max(began - EVENING_MARGIN, previous_end, now)
    if earlier < began and not in_quiet_hours(earlier, zone, start, end):
        return earlier.astimezone(UTC)
    return None


# ------------------------------------------------------------------------ plan


_SEQUENCE = {
    NoticeKind.IMMEDIATE: 0,
    NoticeKind.ADVANCE: 1,
    NoticeKind.DAY_BEFORE: 2,
    NoticeKind.DAY_OF: 3,
    NoticeKind.AMENDMENT: 4,
    NoticeKind.CANCELLATION: 5,
}
_GROUP_ORDER = {ChannelGroup.MESSAGING: 0, ChannelGroup.EMAIL: 1}


def _sort_key(n: PlannedNotice) -> tuple[datetime, int, int]:
    return (n.due_at_utc, _GROUP_ORDER[n.channel_group], _SEQUENCE[n.kind])


def _place_all(
    candidates: list[tuple[NoticeKind, datetime]],
    *,
    now: datetime,
    before: datetime | None,
    zone: ZoneInfo,
    rules: NoticeRules,
    urgent: bool,
    groups: Collection[ChannelGroup | str],
) -> tuple[list[PlannedNotice], list[NoticeKind]]:
    """Place candidates (in sequence order) per group; return the plan and dropped kinds."""
    merged: dict[tuple[ChannelGroup, datetime], PlannedNotice] = {}
    dropped: list[NoticeKind] = []
    for kind, due in candidates:
        for group in map(ChannelGroup, groups):
            intended = due.astimezone(UTC)
            at: datetime | None = intended
            if group is ChannelGroup.MESSAGING and not urgent and rules.has_quiet_hours:
                at = _place_messaging(due, now=now, before=before, zone=zone, rules=rules)
            if at is None:
                dropped.append(kind)
                continue
            shift = None
            if at != intended:
                shift = QuietShift(intended, rules.quiet_start, rules.quiet_end, at < intended)
            # Later in the sequence wins the slot: its wording fits the moment.
            merged[(group, at)] = PlannedNotice(kind, at, group, shift)
    return sorted(merged.values(), key=_sort_key), dropped


def _plan(
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo | str,
    rules: NoticeRules,
    now: datetime,
    urgent: bool,
    groups: Collection[ChannelGroup | str],
) -> tuple[list[PlannedNotice], list[NoticeKind]]:
    starts_at, ends_at, now = utc(starts_at, "starts_at"), utc(ends_at, "ends_at"), utc(now, "now")
    if ends_at <= starts_at:
        raise ValueError("an outage must end after it starts")
    if now >= starts_at:
        return [], []
    zone = as_zone(tz)
    raw = sorted(
        ((NoticeKind(o.kind), offset_due(o, starts_at, zone)) for o in rules.offsets),
        key=lambda kd: kd[1],
    )
    candidates: list[tuple[NoticeKind, datetime]] = []
    if raw and raw[0][1] < now:
        candidates.append((NoticeKind.IMMEDIATE, now))
    candidates.extend((kind, due) for kind, due in raw if due >= now)
    return _place_all(
        candidates,
        now=now,
        before=starts_at,
        zone=zone,
        rules=rules,
        urgent=urgent,
        groups=groups,
    )


def plan_notices(
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo | str,
    rules: NoticeRules,
    now: datetime,
    urgent: bool = False,
    *,
    groups: Collection[ChannelGroup | str] = ALL_GROUPS,
) -> list[PlannedNotice]:
    """The timed notices of an outage approved at ``now``, sorted by due time.

    Offsets already past at ``now`` are dropped; if the first one has passed,
    one ``immediate`` notice is due at ``now``. Every notice is due strictly
    before the start; an outage that has started gets none. ``urgent``
    ignores quiet hours. ``groups`` limits the plan to the channel groups the
    outage uses.
    """
    return _plan(starts_at, ends_at, tz, rules, now, urgent, groups)[0]


def plan_follow_up(
    kind: NoticeKind,
    now: datetime,
    tz: ZoneInfo | str,
    rules: NoticeRules,
    urgent: bool = False,
    *,
    before: datetime | None = None,
    groups: Collection[ChannelGroup | str] = ALL_GROUPS,
) -> list[PlannedNotice]:
    """An amendment or cancellation notice due now, with the same quiet-hour placement.

    ``before`` is the deadline (the start of an outage not yet begun), if any;
    without one a messaging notice simply waits for quiet hours to end.
    """
    now = utc(now, "now")
    if before is not None:
        before = utc(before, "before")
        if now >= before:
            return []
    zone = as_zone(tz)
    return _place_all(
        [(kind, now)],
        now=now,
        before=before,
        zone=zone,
        rules=rules,
        urgent=urgent,
        groups=groups,
    )[0]


_KIND_WORDS = {
    NoticeKind.IMMEDIATE: "immediate",
    NoticeKind.ADVANCE: "advance",
    NoticeKind.DAY_BEFORE: "day-before",
    NoticeKind.DAY_OF: "day-of",
    NoticeKind.AMENDMENT: "amendment",
    NoticeKind.CANCELLATION: "cancellation",
}


def quiet_hours_problem(
    starts_at: datetime,
    ends_at: datetime,
    tz: ZoneInfo | str,
    rules: NoticeRules,
    now: datetime,
    urgent: bool = False,
) -> str | None:
    """A warning when quiet hours leave no moment before the start for an SMS/bot notice."""
    _, dropped = _plan(starts_at, ends_at, tz, rules, now, urgent, (ChannelGroup.MESSAGING,))
    if not dropped:
        return None
    words = [_KIND_WORDS[k] for k in dict.fromkeys(dropped)]
    window = f"{rules.quiet_start:%H:%M}–{rules.quiet_end:%H:%M}"
    if len(words) == 1:
        what, it = f"the {words[0]} SMS/bot notice cannot", "it"
    else:
        what, it = f"the {', '.join(words[:-1])} and {words[-1]} SMS/bot notices cannot", "them"
    return (
        f"{what} go out before the start outside quiet hours ({window}); "
        f"mark the outage urgent to send {it} now"
    )


_KIND_NAMES = {
    NoticeKind.IMMEDIATE: "notice on approval",
    NoticeKind.ADVANCE: "advance notice",
    NoticeKind.DAY_BEFORE: "day-before notice",
    NoticeKind.DAY_OF: "on-the-day notice",
    NoticeKind.AMENDMENT: "amendment",
    NoticeKind.CANCELLATION: "cancellation",
}
_GROUP_NAMES = {ChannelGroup.MESSAGING: "SMS and bots", ChannelGroup.EMAIL: "e-mail"}


def describe(notice: PlannedNotice, tz: ZoneInfo | str) -> tuple[str, str | None]:
    """(what is sent, why it is not at its offset's time or None), in words.

    A notice moved out of quiet hours says so, and one moved to an earlier
    day says which: an on-the-day notice sent at 20:00 the evening before
    reads "on-the-day notice, sent the evening before · SMS and bots".
    """
    zone = as_zone(tz)
    what = _KIND_NAMES[notice.kind]
    group = _GROUP_NAMES[notice.channel_group]
    shift = notice.shift
    if shift is None:
        return f"{what} · {group}", None
    due = notice.due_at_utc.astimezone(zone)
    intended = shift.intended_at_utc.astimezone(zone)
    window = f"quiet hours {shift.quiet_start:%H:%M}–{shift.quiet_end:%H:%M}"
    days = (intended.date() - due.date()).days
    if not shift.earlier:
        return f"{what}, sent when quiet hours end · {group}", (
            f"due {intended:%H:%M}, in {window}"
        )
    if days == 0:
        when = "earlier"
    elif days == 1:
        when = "the evening before" if due.hour >= 17 else "the day before"
    else:
        when = f"{days} days early"
    return f"{what}, sent {when} · {group}", (
        f"due {intended:%a %H:%M}, in {window}, which do not end before the start"
    )
