"""Everything the preview shows before submitting (and again to the approver).

Who is affected (set-based counts), the exact text per language and
channel, SMS encoding/segments/cost with and without transliteration, the
notice schedule after quiet hours, and what is wrong or risky: a window
that cannot be submitted (problems) and what the approver should weigh
(warnings: short notice, overlapping outages, an SMS over the cap).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Connection, Engine, func, select

from dispatch_tui.domain import sms, templates
from dispatch_tui.domain.draft import OutageDraft, check_draft
from dispatch_tui.domain.languages import LANGUAGE_NAMES_EN, reason_in
from dispatch_tui.domain.notice_plan import PlannedNotice, channel_group, plan_notices
from dispatch_tui.domain.rules import defaults_for
from dispatch_tui.domain.selection import Selection
from dispatch_tui.storage import counts
from dispatch_tui.storage.affected import AffectedCounts, Scope, affected_counts, scope_of
from dispatch_tui.storage.outages import overlapping
from dispatch_tui.storage.tables import metering_point as mp
from dispatch_tui.storage.tables import subscriber, subscription, utility

WORST_CANDIDATES = 20
KIND_WORDS = {"advance": "5-day", "day_before": "1-day", "day_of": "day-of"}


@dataclass(frozen=True)
class Sample:
    """One language × channel as it will be sent (SMS: the worst case)."""

    language: str
    channel: str
    recipients: int
    subject: str | None
    body: str
    sms: templates.SmsPreview | None = None


@dataclass(frozen=True)
class OverCap:
    """A language whose SMS does not fit `sms.max_segments` even with its address
    list cut (the reason or extra text is too long)."""

    language: str
    segments: int
    cap: int

    def __str__(self) -> str:
        return f"the {self.language} SMS needs {self.segments} segments, over the cap of {self.cap}"


@dataclass(frozen=True)
class SmsCost:
    segments: int
    cost: Decimal


@dataclass(frozen=True)
class Preview:
    counts: AffectedCounts
    samples: list[Sample]
    schedule: list[PlannedNotice]
    timezone: str
    sms_cost: SmsCost
    sms_cost_transliterated: SmsCost
    currency: str
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def can_submit(self) -> bool:
        return not self.problems


def _worst_addresses(
    conn: Connection, scope: Scope
) -> tuple[dict[str, list[templates.Address]], list[templates.Address]]:
    """Per language, the affected addresses of the subscriber with the most of them
    (of the WORST_CANDIDATES with the most); and one affected address, for a
    language none of them speaks."""
    condition = scope.condition()
    candidates = None
    if scope.selection.nodes:
        candidates = counts.top_subscribers(conn, scope.on_shared_subscriptions(), WORST_CANDIDATES)
    if candidates is None:
        candidates = list(
            conn.scalars(
                select(subscription.c.subscriber_id)
                .join(mp, mp.c.id == subscription.c.mp_id)
                .where(condition)
                .group_by(subscription.c.subscriber_id)
                .order_by(func.count().desc(), subscription.c.subscriber_id)
                .limit(WORST_CANDIDATES)
            )
        )
    rank = {sub_id: k for k, sub_id in enumerate(candidates)}
    # From the candidates' few subscriptions (materialized: PostgreSQL would
    # otherwise start from the selection's 100,000 points).
    theirs = (
        select(subscription.c.subscriber_id, subscription.c.mp_id)
        .where(subscription.c.subscriber_id.in_(candidates))
        .cte("theirs")
        .prefix_with("MATERIALIZED")
    )
    rows = conn.execute(
        select(subscriber.c.id, subscriber.c.language, mp.c.settlement, mp.c.street, mp.c.house)
        .select_from(theirs)
        .join(subscriber, subscriber.c.id == theirs.c.subscriber_id)
        .join(mp, mp.c.id == theirs.c.mp_id)
        .where(condition)
        .order_by(subscriber.c.id, mp.c.id)
    ).all()
    chosen: dict[str, int] = {}
    found: dict[str, list[templates.Address]] = {}
    for sub_id, language, settlement, street, house in sorted(rows, key=lambda r: rank[r[0]]):
        if chosen.setdefault(language, sub_id) == sub_id:
            found.setdefault(language, []).append(templates.Address(settlement, street, house))
    any_row = conn.execute(
        select(mp.c.settlement, mp.c.street, mp.c.house).where(condition).limit(1)
    ).first()
    fallback = [templates.Address(*any_row)] if any_row else [templates.Address("—", "", "—")]
    return found, fallback


@dataclass(frozen=True)
class Affected:
    """What the preview needs that depends only on the selection (the slow part)."""

    counts: AffectedCounts
    worst: dict[str, list[templates.Address]]
    fallback: list[templates.Address]


def _gather(conn: Connection, selection: Selection) -> Affected:
    counts = affected_counts(conn, selection)
    if not counts.metering_points:
        return Affected(counts, {}, [])
    return Affected(counts, *_worst_addresses(conn, scope_of(conn, selection)))


def gather_affected(engine: Engine, selection: Selection) -> Affected:
    """`Affected` with the counting and the worst-case search on two
    connections at once: both are index scans that release the GIL, so a
    100,000-point selection costs the longer of the two, not their sum."""
    if selection.is_empty:
        return Affected(AffectedCounts(0, 0, 0, {}), {}, [])

    def worst() -> tuple[dict[str, list[templates.Address]], list[templates.Address]]:
        with engine.connect() as conn:
            return _worst_addresses(conn, scope_of(conn, selection))

    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(worst)
        with engine.connect() as conn:
            counts = affected_counts(conn, selection)
        found, fallback = future.result()
    return Affected(counts, found, fallback)


def render_sample(
    ctx: templates.NoticeContext,
    addresses: list[templates.Address],
    language: str,
    channel: str,
    recipients: int,
    *,
    max_sms_segments: int,
    transliterate: bool,
) -> Sample:
    """One language × channel exactly as it will be sent; SMS with its worst-case size."""
    if channel == "sms":
        shown = templates.sms_preview(
            ctx,
            addresses,
            language,
            max_sms_segments=max_sms_segments,
            transliterate_sms=transliterate,
        )
        return Sample(language, channel, recipients, None, shown.body, shown)
    rendered = templates.render(ctx, addresses, language, channel)
    return Sample(language, channel, recipients, rendered.subject, rendered.body)


def _context(
    draft: OutageDraft, sender: tuple[str, str], timezone: str, language: str
) -> templates.NoticeContext:
    """The advance notice of a draft in `language`, as the preview shows it."""
    return templates.NoticeContext(
        utility_name=sender[0],
        contact_phone=sender[1],
        timezone=timezone,
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        reason=reason_in(draft.reason, draft.reasons, language) or "—",
        title=draft.title,
        kind="advance",
        extra_text=draft.texts.get(language, ""),
    )


def _sender(conn: Connection, utility_id: int) -> tuple[str, str, str, str, str]:
    """Name, contact phone, time zone, country and language of a utility."""
    row = conn.execute(
        select(
            utility.c.name,
            utility.c.contact_phone,
            utility.c.timezone,
            utility.c.country,
            utility.c.language,
        ).where(utility.c.id == utility_id)
    ).one()
    return row[0], row[1], row[2], row[3], row[4]


def sms_over_cap(
    conn: Connection,
    draft: OutageDraft,
    *,
    max_sms_segments: int,
    transliterate: bool,
    affected: Affected | None = None,
) -> list[OverCap]:
    """The languages whose worst-case SMS (the one the preview shows) is over the cap:
    approval reads this in its transaction, so what it refuses is what the preview
    flagged."""
    if "sms" not in draft.channels or draft.ends_at <= draft.starts_at:
        return []
    affected = affected or _gather(conn, draft.selection)
    name, phone, tz, _country, _language = _sender(conn, draft.utility_id)
    over = []
    for (channel, language), recipients in sorted(affected.counts.contacts.items()):
        if channel != "sms":
            continue
        sample = render_sample(
            _context(draft, (name, phone), tz, language),
            affected.worst.get(language, affected.fallback),
            language,
            channel,
            recipients,
            max_sms_segments=max_sms_segments,
            transliterate=transliterate,
        )
        if sample.sms is not None and sample.sms.over_cap:
            over.append(OverCap(language, sample.sms.segments, max_sms_segments))
    return over


def fallback_reasons(draft: OutageDraft, languages: set[str], own_language: str) -> list[str]:
    """Audience languages without a reason of their own, which carry the utility's."""
    return sorted(
        language
        for language in languages
        if language != own_language and not draft.reasons.get(language, "").strip()
    )


def build_preview(
    conn: Connection,
    draft: OutageDraft,
    *,
    now: datetime,
    affected: Affected | None = None,
    outage_id: int | None = None,
    max_sms_segments: int = 3,
    price_per_segment: Decimal = Decimal("0.04"),
    currency: str = "EUR",
) -> Preview:
    name, phone, tz, country, own_language = _sender(conn, draft.utility_id)
    rules = defaults_for(country)
    verdict = check_draft(draft, rules, tz, now)
    problems = list(verdict.problems)
    warnings = list(verdict.warnings)
    if affected is None:
        affected = _gather(conn, draft.selection)
    counts = affected.counts
    window_ok = draft.ends_at > draft.starts_at
    schedule: list[PlannedNotice] = []
    if window_ok and draft.starts_at > now:
        groups = {channel_group(c) for c in draft.channels}
        wanted = set(draft.notice_kinds) | {"immediate"}
        schedule = [
            notice
            for notice in plan_notices(
                draft.starts_at, draft.ends_at, tz, rules, now, draft.urgent, groups=groups
            )
            if str(notice.kind) in wanted
        ]
        if not schedule:
            warnings.append("no notice can go out before the start")
        planned = {str(notice.kind) for notice in schedule}
        past = [KIND_WORDS[k] for k in draft.notice_kinds if k not in planned]
        if past and "immediate" in planned:
            warnings.append(
                f"the {' and '.join(past)} notice is already in the past; "
                "customers get one notice at approval instead"
            )
        for other, shared in overlapping(
            conn, outage_id, draft.utility_id, draft.selection, draft.starts_at, draft.ends_at
        ):
            warnings.append(
                f"overlaps outage #{other.id} “{other.title}” ({other.status}) "
                f"on {shared:,} metering points"
            )
    samples: list[Sample] = []
    plain = SmsCost(0, Decimal(0))
    gsm = SmsCost(0, Decimal(0))
    if window_ok and counts.metering_points:
        worst, fallback = affected.worst, affected.fallback
        for (channel, language), recipients in sorted(counts.contacts.items()):
            if channel not in draft.channels:
                continue
            ctx = _context(draft, (name, phone), tz, language)
            addresses = worst.get(language, fallback)
            sample = render_sample(
                ctx,
                addresses,
                language,
                channel,
                recipients,
                max_sms_segments=max_sms_segments,
                transliterate=draft.transliterate,
            )
            samples.append(sample)
            if sample.sms is not None:
                shown = sample.sms
                typical = templates.sms_preview(
                    ctx, addresses[:1], language, max_sms_segments=max_sms_segments
                )
                typical_gsm = templates.sms_preview(
                    ctx,
                    addresses[:1],
                    language,
                    max_sms_segments=max_sms_segments,
                    transliterate_sms=True,
                )
                plain = SmsCost(plain.segments + recipients * typical.segments, Decimal(0))
                gsm = SmsCost(gsm.segments + recipients * typical_gsm.segments, Decimal(0))
                if shown.over_cap:
                    over = OverCap(language, shown.segments, max_sms_segments)
                    warnings.append(
                        f"{over}; shorten the reason or turn on transliteration (an approver "
                        "must choose transliteration or accept the cost)"
                    )
        plain = SmsCost(plain.segments, sms.estimate_cost(plain.segments, price_per_segment))
        gsm = SmsCost(gsm.segments, sms.estimate_cost(gsm.segments, price_per_segment))
    audience = {language for (channel, language) in counts.contacts if channel in draft.channels}
    for language in fallback_reasons(draft, audience, own_language):
        warnings.append(
            f"{LANGUAGE_NAMES_EN.get(language, language)} notices will carry the "
            f"{LANGUAGE_NAMES_EN.get(own_language, own_language)} reason: add the "
            f"{LANGUAGE_NAMES_EN.get(language, language)} reason in the form"
        )
    if counts.priority_metering_points:
        warnings.append(
            f"{counts.priority_metering_points} priority metering points (life support, hospitals) "
            "are affected: call them as well"
        )
    return Preview(
        counts=counts,
        samples=samples,
        schedule=schedule,
        timezone=tz,
        sms_cost=plain,
        sms_cost_transliterated=gsm,
        currency=currency,
        problems=problems,
        warnings=warnings,
    )
