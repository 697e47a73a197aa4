"""What a shift lead reviews when an approved outage comes back amended: the window
before and after, how many customers were already told, and the exact text those
customers will get.

An amendment changes only the window (the database enforces it), so "every changed
field" is the window. The window before is what customers were told when they were
told anything (`outage.told_*`, what the amendment notice quotes); otherwise it is
the window of the last approval, as the first amend after it recorded (`was_*` in
its audit detail).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, func, select

from dispatch_tui.storage.fanout import TOLD_STATES
from dispatch_tui.storage.outages import OutageDetail, notice_context, notice_sender
from dispatch_tui.storage.preview import Affected, Sample, render_sample
from dispatch_tui.storage.tables import audit_log, contact, message, notice, outage


@dataclass(frozen=True)
class AmendmentReview:
    """An amended outage waiting for approval again."""

    amended_by: str
    before: tuple[datetime, datetime] | None
    """The window before the amendment (None: not recorded, an amendment made before
    this was kept)."""
    after: tuple[datetime, datetime]
    told_subscribers: int
    """Subscribers a notice of this outage reached (or may have): they get the amendment."""
    samples: list[Sample]
    """The amendment text per channel and language of those told (SMS: the worst case)."""


def _approved_window(conn: Connection, outage_id: int) -> tuple[datetime, datetime] | None:
    """The window of the last approval: the first amend after it says what it changed."""
    last_approval = (
        select(func.max(audit_log.c.id))
        .where(
            audit_log.c.entity == "outage",
            audit_log.c.entity_id == str(outage_id),
            audit_log.c.action == "approve",
        )
        .scalar_subquery()
    )
    detail = conn.execute(
        select(audit_log.c.detail)
        .where(
            audit_log.c.entity == "outage",
            audit_log.c.entity_id == str(outage_id),
            audit_log.c.action == "amend",
            audit_log.c.id > func.coalesce(last_approval, 0),
        )
        .order_by(audit_log.c.id)
        .limit(1)
    ).scalar_one_or_none()
    if not detail or "was_starts_at" not in detail:
        return None
    return (
        datetime.fromisoformat(detail["was_starts_at"]),
        datetime.fromisoformat(detail["was_ends_at"]),
    )


def _told(conn: Connection, outage_id: int) -> tuple[int, dict[tuple[str, str], int]]:
    """Subscribers told, and contacts told per (channel, language)."""
    reached = (
        select(message.c.contact_id, message.c.channel, message.c.language)
        .join(notice, notice.c.id == message.c.notice_id)
        .where(notice.c.outage_id == outage_id, message.c.status.in_(TOLD_STATES))
        .distinct()
        .subquery()
    )
    subscribers = conn.execute(
        select(func.count(func.distinct(contact.c.subscriber_id))).join(
            reached, reached.c.contact_id == contact.c.id
        )
    ).scalar_one()
    per_group = {
        (channel, language): int(n)
        for channel, language, n in conn.execute(
            select(reached.c.channel, reached.c.language, func.count()).group_by(
                reached.c.channel, reached.c.language
            )
        )
    }
    return int(subscribers), per_group


def amendment_review(
    conn: Connection,
    detail: OutageDetail,
    affected: Affected,
    *,
    max_sms_segments: int = 3,
) -> AmendmentReview | None:
    """The review of ``detail`` if it is an amendment waiting for approval, else None."""
    row = detail.row
    if row.status != "submitted" or row.amended_by is None:
        return None
    told_start, told_end = conn.execute(
        select(outage.c.told_starts_at, outage.c.told_ends_at).where(outage.c.id == row.id)
    ).one()
    before = (
        (told_start, told_end)
        if told_start is not None and told_end is not None
        else _approved_window(conn, row.id)
    )
    subscribers, groups = _told(conn, row.id)
    samples: list[Sample] = []
    if subscribers:
        sender = notice_sender(conn, row.utility_id)
        for (channel, language), recipients in sorted(groups.items()):
            ctx = notice_context(row, sender, language, "amendment", (told_start, told_end))
            samples.append(
                render_sample(
                    ctx,
                    affected.worst.get(language, affected.fallback),
                    language,
                    channel,
                    recipients,
                    max_sms_segments=max_sms_segments,
                    transliterate=row.transliterate_sms,
                )
            )
    return AmendmentReview(
        row.amended_by, before, (row.starts_at, row.ends_at), subscribers, samples
    )
