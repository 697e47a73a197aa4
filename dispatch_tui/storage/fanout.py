"""Fan-out: a due notice becomes one message per (notice, contact).

The notice row is claimed like a message (`scheduled → fanning_out` under a
lease), so exactly one process builds its messages; the unique key
(notice, contact) makes a repeated fan-out a no-op all the same. The
affected subscribers are resolved *now* (opt-outs at this moment win),
streamed, and each subscriber gets one text per channel listing all their
affected addresses. Identical texts are rendered once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Engine, and_, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from dispatch_tui.domain import sms, templates
from dispatch_tui.storage.affected import AffectedSubscriber, iter_affected_subscribers
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.outages import get_outage, sendable_outage_ids
from dispatch_tui.storage.tables import contact, message, notice, utility

BATCH = 2000


@dataclass(frozen=True)
class FanoutResult:
    notice_id: int
    subscribers: int
    messages: int


def claim_notice(
    engine: Engine, notice_id: int, *, owner: str, now: datetime, lease: timedelta
) -> bool:
    """Take a due notice for fan-out; False if someone else has it or it is not due."""
    with write_transaction(engine) as conn:
        taken = conn.execute(
            update(notice)
            .where(
                notice.c.id == notice_id,
                notice.c.outage_id.in_(sendable_outage_ids()),
                or_(
                    and_(notice.c.status.in_(("scheduled", "due")), notice.c.due_at <= now),
                    and_(notice.c.status == "fanning_out", notice.c.lease_until < now),
                ),
            )
            .values(status="fanning_out", lease_owner=owner, lease_until=now + lease)
        ).rowcount
    return bool(taken)


def _batches(stream: Iterator[AffectedSubscriber]) -> Iterator[list[AffectedSubscriber]]:
    batch: list[AffectedSubscriber] = []
    for item in stream:
        batch.append(item)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_ignoring_duplicates(conn: Connection, rows: list[dict[str, Any]]) -> None:
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    conn.execute(
        dialect_insert(message).on_conflict_do_nothing(index_elements=["notice_id", "contact_id"]),
        rows,
    )


def fan_out(
    engine: Engine,
    notice_id: int,
    *,
    owner: str,
    now: datetime | None = None,
    lease: timedelta = timedelta(minutes=5),
    max_sms_segments: int = 3,
) -> FanoutResult | None:
    """Build the messages of one due notice; None when it was not ours to build."""
    now = now or datetime.now(UTC)
    if not claim_notice(engine, notice_id, owner=owner, now=now, lease=lease):
        return None
    with engine.connect() as reader:
        kind, channels, outage_id = reader.execute(
            select(notice.c.kind, notice.c.channels, notice.c.outage_id).where(
                notice.c.id == notice_id
            )
        ).one()
        detail = get_outage(reader, outage_id)
        row = detail.row
        name, phone = reader.execute(
            select(utility.c.name, utility.c.contact_phone).where(utility.c.id == row.utility_id)
        ).one()

        @lru_cache(maxsize=4096)
        def text(
            language: str, channel: str, addresses: tuple[templates.Address, ...]
        ) -> tuple[str, int]:
            ctx = templates.NoticeContext(
                utility_name=name,
                contact_phone=phone,
                timezone=row.timezone,
                starts_at=row.starts_at,
                ends_at=row.ends_at,
                reason=row.reason,
                title=row.title,
                kind=kind,
                extra_text=row.texts.get(language, ""),
            )
            rendered = templates.render(
                ctx,
                addresses,
                language,
                channel,
                max_sms_segments=max_sms_segments,
                transliterate_sms=row.transliterate,
            )
            body = (
                rendered.body
                if rendered.subject is None
                else f"{rendered.subject}\n\n{rendered.body}"
            )
            return body, sms.analyse(rendered.body).segments if channel == "sms" else 1

        subscribers = messages = 0
        for batch in _batches(iter_affected_subscribers(reader, detail.selection)):
            by_id = {s.subscriber_id: s for s in batch}
            contacts = reader.execute(
                select(
                    contact.c.id, contact.c.subscriber_id, contact.c.channel, contact.c.address
                ).where(
                    contact.c.subscriber_id.in_(list(by_id)),
                    contact.c.consent == "opted_in",
                    contact.c.channel.in_(list(channels)),
                )
            ).all()
            rows = []
            for contact_id, subscriber_id, channel, address in contacts:
                who = by_id[subscriber_id]
                addresses = tuple(
                    templates.Address(a.settlement, a.street, a.house) for a in who.addresses
                )
                body, segments = text(who.language, channel, addresses)
                rows.append(
                    {
                        "notice_id": notice_id,
                        "contact_id": contact_id,
                        "channel": channel,
                        "address": address,
                        "language": who.language,
                        "body": body,
                        "segments": segments,
                        "status": "pending",
                        "attempts": 0,
                        "next_attempt_at": now,
                        "expires_at": row.starts_at,
                        "created_at": now,
                    }
                )
            if rows:
                with write_transaction(engine) as conn:
                    _insert_ignoring_duplicates(conn, rows)
            subscribers += len(batch)
            messages += len(rows)
    with write_transaction(engine) as conn:
        conn.execute(
            update(notice)
            .where(notice.c.id == notice_id, notice.c.lease_owner == owner)
            .values(status="done", lease_owner=None, lease_until=None)
        )
    return FanoutResult(notice_id, subscribers, messages)
