"""Per-utility notice rules: lead time, duration limits, quiet hours, offsets.

The figures differ by jurisdiction (design: "Notice rules by jurisdiction") and
regulators change them, so they are configuration with shipped defaults, not
constants sprinkled through the code. Everything here is wall-clock aware:
"5 days before" and "07:00" mean the utility's local clock, and a daylight
saving change never shifts a notice (rule 5).

Decisions:

* Duration limits: only Ukraine has a statutory cap in the table (12 h, 6 h in
  winter). Bulgaria, Slovenia, Australia and Great Britain ship *no* cap
  (``None``); a utility that wants one configures it. Ukraine's "winter" ships
  as December to February (configurable via ``winter_months``; verify against
  the current Distribution System Code). The 24 h / 8 h limits for major works
  are not modelled.
* Lead time is measured from the *first notice customers actually get*: the
  earliest configured offset, or ``now`` when that offset has already passed
  (the plan then sends an immediate notice). Approving ten days ahead does
  not count as ten days of notice when the first notice goes five days ahead.
* Calendar days count wall-clock days (same local time N days earlier, the
  same arithmetic as the notice offsets). Business days count *clear* days:
  working days strictly between the day of the notice and the day of the
  outage, the conservative reading of "at least N business days".
* Australia ships a 7-day advance offset so that a 4-business-day requirement
  is met in an ordinary week; a public holiday in between still warns.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal, get_args
from zoneinfo import ZoneInfo

import holidays


@functools.lru_cache(maxsize=64)
def _calendar(country: str, subdivision: str | None) -> holidays.HolidayBase:
    """One lazily growing holiday calendar per country: years load on first use."""
    return holidays.country_holidays(country, subdiv=subdivision)


class LeadTimeUnit(StrEnum):
    CALENDAR_DAYS = "calendar_days"
    BUSINESS_DAYS = "business_days"
    HOURS = "hours"


_UNIT_WORDS: dict[LeadTimeUnit, str] = {
    LeadTimeUnit.CALENDAR_DAYS: "day",
    LeadTimeUnit.BUSINESS_DAYS: "business day",
    LeadTimeUnit.HOURS: "hour",
}


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


@dataclass(frozen=True)
class LeadTime:
    """A minimum notice period such as 48 hours or 4 business days."""

    amount: int
    unit: LeadTimeUnit = LeadTimeUnit.CALENDAR_DAYS

    def __post_init__(self) -> None:
        object.__setattr__(self, "unit", LeadTimeUnit(self.unit))
        if self.amount < 0:
            raise ValueError(f"lead time must not be negative (got {self.amount})")

    def describe(self) -> str:
        """``"48 hours"``, ``"4 business days"``, ``"5 days"``."""
        return _count(self.amount, _UNIT_WORDS[self.unit])


OffsetKind = Literal["advance", "day_before", "day_of"]
"""Kinds a timed offset may produce; the same strings as ``NoticeKind``."""


@dataclass(frozen=True)
class NoticeOffset:
    """When a timed notice is due, relative to the outage start, in local time.

    ``days_before`` counts local calendar days; ``at`` is a local wall-clock
    time on that day, or ``None`` for "the same local time as the start".
    A due time at or after the start falls back to one hour before the start
    (see :data:`SAME_DAY_FALLBACK`): an outage at 06:00 cannot be announced
    "on the morning of the day at 07:00".
    """

    kind: OffsetKind
    days_before: int
    at: time | None = None

    def __post_init__(self) -> None:
        if self.kind not in get_args(OffsetKind):
            raise ValueError(f"unknown notice offset kind {self.kind!r}")
        if self.days_before < 0:
            raise ValueError(f"days_before must not be negative (got {self.days_before})")
        if self.at is not None and self.at.tzinfo is not None:
            raise ValueError("an offset's time of day is local wall-clock time, without a zone")


SAME_DAY_FALLBACK = timedelta(hours=1)
"""How long before the start a notice goes when its configured time is too late."""

DEFAULT_OFFSETS: tuple[NoticeOffset, ...] = (
    NoticeOffset("advance", 5),
    NoticeOffset("day_before", 1),
    NoticeOffset("day_of", 0, time(7, 0)),
)
"""Seed 001 (Zakarpattyaoblenergo): 5 days before, 1 day before, the morning of the day."""


@dataclass(frozen=True)
class NoticeRules:
    """What one utility must and wants to do when announcing a planned outage.

    ``quiet_start``/``quiet_end`` are local times; the window may wrap
    midnight (21:00–08:00). Equal values mean no quiet hours.
    ``holiday_subdivision`` selects regional public holidays (Australian
    states, for example) for business-day counting.
    """

    country: str
    lead_time: LeadTime
    max_duration_hours: float | None = None
    winter_max_duration_hours: float | None = None
    winter_months: frozenset[int] = field(default_factory=frozenset)
    quiet_start: time = time(21, 0)
    quiet_end: time = time(8, 0)
    offsets: tuple[NoticeOffset, ...] = DEFAULT_OFFSETS
    holiday_subdivision: str | None = None

    def __post_init__(self) -> None:
        country = self.country.strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise ValueError(f"country must be a two-letter ISO code (got {self.country!r})")
        object.__setattr__(self, "country", country)
        try:
            _calendar(country, self.holiday_subdivision)
        except NotImplementedError as exc:
            raise ValueError(f"no public-holiday calendar for {country!r}: {exc}") from None
        object.__setattr__(self, "winter_months", frozenset(self.winter_months))
        object.__setattr__(self, "offsets", tuple(self.offsets))
        bad_months = sorted(m for m in self.winter_months if not 1 <= m <= 12)
        if bad_months:
            raise ValueError(f"winter months must be 1 to 12 (got {bad_months})")
        for name in ("max_duration_hours", "winter_max_duration_hours"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ValueError(f"{name} must be positive (got {value})")
        for name in ("quiet_start", "quiet_end"):
            if getattr(self, name).tzinfo is not None:
                raise ValueError(f"{name} is local wall-clock time, without a zone")

    @property
    def has_quiet_hours(self) -> bool:
        return self.quiet_start != self.quiet_end

    @property
    def authority(self) -> str:
        """Who the rules come from, for messages: ``"Bulgaria"``."""
        return COUNTRY_NAMES.get(self.country, self.country)


COUNTRY_NAMES: dict[str, str] = {
    "SI": "Slovenia",
    "UA": "Ukraine",
    "BG": "Bulgaria",
    "AU": "Australia",
    "GB": "Great Britain",
}

_DEFAULTS: dict[str, NoticeRules] = {
    # Distribution System Code (NEURC): 5 days; <= 12 h, <= 6 h in winter.
    "UA": NoticeRules(
        country="UA",
        lead_time=LeadTime(5, LeadTimeUnit.CALENDAR_DAYS),
        max_duration_hours=12,
        winter_max_duration_hours=6,
        winter_months=frozenset({12, 1, 2}),
    ),
    # ERP Sever general conditions (2022): 48 h on the website.
    "BG": NoticeRules(country="BG", lead_time=LeadTime(48, LeadTimeUnit.HOURS)),
    # General supply conditions (2007) art. 39: public media >= 48 h.
    "SI": NoticeRules(country="SI", lead_time=LeadTime(48, LeadTimeUnit.HOURS)),
    # National Energy Retail Rules, rule 90: 4 business days.
    "AU": NoticeRules(
        country="AU",
        lead_time=LeadTime(4, LeadTimeUnit.BUSINESS_DAYS),
        offsets=(
            NoticeOffset("advance", 7),
            NoticeOffset("day_before", 1),
            NoticeOffset("day_of", 0, time(7, 0)),
        ),
    ),
    # Guaranteed standards: 2 days' notice or compensation is owed.
    "GB": NoticeRules(country="GB", lead_time=LeadTime(2, LeadTimeUnit.CALENDAR_DAYS)),
}
_ALIASES = {"UK": "GB"}


def defaults_for(country: str) -> NoticeRules:
    """The shipped rules for a country (SI, UA, BG, AU, GB); ``ValueError`` otherwise."""
    code = country.strip().upper()
    code = _ALIASES.get(code, code)
    try:
        return _DEFAULTS[code]
    except KeyError:
        shipped = ", ".join(sorted(_DEFAULTS))
        raise ValueError(
            f"no shipped notice rules for {country!r}; configure them for this utility "
            f"(shipped: {shipped})"
        ) from None


# --------------------------------------------------------------------------- time


def as_zone(tz: ZoneInfo | str) -> ZoneInfo:
    """The IANA zone, from a ``ZoneInfo`` or its name as stored on the utility."""
    return tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)


def utc(value: datetime, name: str = "time") -> datetime:
    """``value`` in UTC; a naive datetime is refused, as it would mean the server's zone.

    Everything is normalised to UTC on the way in because Python compares and
    subtracts two datetimes that share a ``tzinfo`` by wall clock, which is
    wrong across a DST change (09:00-21:00 on the night clocks go back is 13 h).
    """
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (got {value.isoformat()})")
    return value.astimezone(UTC)


def _wall(t: datetime, zone: ZoneInfo) -> datetime:
    return t.astimezone(zone).replace(tzinfo=None)


def local_instant(day: date, at: time, tz: ZoneInfo | str) -> datetime:
    """The UTC instant at which the local clock first shows ``day`` ``at``.

    A time repeated when clocks go back means its first occurrence; a time
    skipped when clocks go forward means the moment of the jump (02:30 on the
    spring-forward night in Ljubljana is 03:00 CEST), so a computed due time
    is never earlier than the wall-clock time asked for.
    """
    zone = as_zone(tz)
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    early = naive.replace(tzinfo=zone).astimezone(UTC)
    if _wall(early, zone) == naive:
        return early
    # In a gap: fold=1 reads it with the offset after the jump, landing before
    # the gap; fold=0 lands after it. Search the whole seconds in between.
    lo = naive.replace(tzinfo=zone, fold=1).astimezone(UTC).replace(microsecond=0)
    lo_s, hi_s = 0, int((early - lo).total_seconds()) + 1
    while lo_s < hi_s:
        mid = (lo_s + hi_s) // 2
        if _wall(lo + timedelta(seconds=mid), zone) >= naive:
            hi_s = mid
        else:
            lo_s = mid + 1
    return lo + timedelta(seconds=lo_s)


def offset_due(offset: NoticeOffset, starts_at: datetime, tz: ZoneInfo | str) -> datetime:
    """When ``offset`` is due for an outage starting at ``starts_at`` (UTC, unshifted).

    Computed on the local calendar, so "5 days before" a 09:00 start is 09:00
    local five days earlier even when a DST change lies in between.
    """
    starts_at = utc(starts_at, "starts_at")
    zone = as_zone(tz)
    local_start = starts_at.astimezone(zone)
    day = local_start.date() - timedelta(days=offset.days_before)
    at = offset.at if offset.at is not None else local_start.time()
    due = local_instant(day, at, zone)
    if due >= starts_at:
        due = starts_at - SAME_DAY_FALLBACK
    return due.astimezone(UTC)


def first_notice_at(
    rules: NoticeRules, now: datetime, starts_at: datetime, tz: ZoneInfo | str
) -> datetime:
    """When customers first hear of the outage: the earliest offset, or ``now`` if it passed."""
    now, starts_at = utc(now, "now"), utc(starts_at, "starts_at")
    dues = [offset_due(o, starts_at, tz) for o in rules.offsets]
    first = min(dues, default=now)
    return max(first, now)


# ------------------------------------------------------------------ business days


def is_business_day(day: date, rules: NoticeRules) -> bool:
    """Not a weekend and not a public holiday (including observed/substituted days)."""
    cal = _calendar(rules.country, rules.holiday_subdivision)
    weekend: set[int] = set(getattr(cal, "weekend", {5, 6}))
    return day.weekday() not in weekend and day not in cal


def business_days_between(
    first: date, last: date, rules: NoticeRules, limit: int | None = None
) -> int:
    """Business days strictly between ``first`` and ``last`` (clear days).

    Counting stops at ``limit`` so that a far-away start costs nothing.
    """
    n = 0
    day = first + timedelta(days=1)
    while day < last and (limit is None or n < limit):
        if is_business_day(day, rules):
            n += 1
        day += timedelta(days=1)
    return n


# ------------------------------------------------------------------------ checks


def lead_time_problem(
    rules: NoticeRules, now: datetime, starts_at: datetime, tz: ZoneInfo | str
) -> str | None:
    """A warning when customers would get less notice than the rules require.

    ``None`` when the notice is long enough. The preview shows the text; the
    caller decides whether it warns or blocks.
    """
    zone = as_zone(tz)
    now, starts_at = utc(now, "now"), utc(starts_at, "starts_at")
    notice_at = first_notice_at(rules, now, starts_at, zone)
    required = f"{rules.authority} requires {rules.lead_time.describe()}"
    if notice_at >= starts_at:
        return f"no notice before the start; {required}"
    amount, unit = rules.lead_time.amount, rules.lead_time.unit
    if unit is LeadTimeUnit.HOURS:
        have_td = starts_at - notice_at
        if have_td >= timedelta(hours=amount):
            return None
        hours = int(have_td // timedelta(hours=1))
        have = "less than an hour" if hours == 0 else f"only {_count(hours, 'hour')}"
        return f"{have} of notice; {required}"
    local_start = starts_at.astimezone(zone)
    notice_day = notice_at.astimezone(zone).date()
    if unit is LeadTimeUnit.CALENDAR_DAYS:
        days = (local_start.date() - notice_day).days
        if (
            days > 0
            and local_instant(local_start.date() - timedelta(days=days), local_start.time(), zone)
            < notice_at
        ):
            days -= 1
        if days >= amount:
            return None
        have = "less than a day" if days == 0 else f"only {_count(days, 'day')}"
        return f"{have} of notice; {required}"
    days = business_days_between(notice_day, local_start.date(), rules, limit=amount)
    if days >= amount:
        return None
    return f"only {_count(days, 'business day')} of notice; {required}"


def is_winter(
    rules: NoticeRules, starts_at: datetime, ends_at: datetime, tz: ZoneInfo | str
) -> bool:
    """Whether any part of the outage falls in a winter month (local calendar)."""
    zone = as_zone(tz)
    months = {starts_at.astimezone(zone).month, ends_at.astimezone(zone).month}
    return bool(months & rules.winter_months)


def format_duration(td: timedelta) -> str:
    """``"12 hours"``, ``"6 hours 30 minutes"``, ``"45 minutes"`` (rounded down to minutes)."""
    minutes = int(td // timedelta(minutes=1))
    hours, minutes = divmod(minutes, 60)
    parts = [_count(hours, "hour")] if hours else []
    if minutes or not parts:
        parts.append(_count(minutes, "minute"))
    return " ".join(parts)


def duration_problem(
    rules: NoticeRules, starts_at: datetime, ends_at: datetime, tz: ZoneInfo | str
) -> str | None:
    """A problem when the outage lasts longer than the rules allow.

    Duration is real elapsed time, not wall-clock difference: a 09:00–21:00
    outage on the night clocks go back lasts 13 hours for the customer.
    """
    starts_at, ends_at = utc(starts_at, "starts_at"), utc(ends_at, "ends_at")
    winter = rules.winter_max_duration_hours is not None and is_winter(
        rules, starts_at, ends_at, tz
    )
    limit = rules.winter_max_duration_hours if winter else rules.max_duration_hours
    if limit is None:
        return None
    allowed = timedelta(hours=limit)
    lasts = ends_at - starts_at
    if lasts <= allowed:
        return None
    season = " in winter" if winter else ""
    return (
        f"lasts {format_duration(lasts)}; {rules.authority} allows at most "
        f"{format_duration(allowed)}{season}"
    )
