"""Opting contacts out, in one place (rule 6: opt-out wins).

Every path that ends a contact's consent (an inbound STOP or ODJAVA, a bot
/stop or /remove, a user who blocked the bot, an operator recording a
customer's request) must also cancel what still waits for that contact:
fan-out checks consent only when it builds messages, so a message built
before the opt-out would otherwise still go. A message built after it (by a
fan-out that read consent earlier) is caught by the claim
(`outbox.claim_batch`), which checks consent once more.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, update

from dispatch_tui.storage import counts
from dispatch_tui.storage.tables import contact, contact_service, message

CHUNK = 5000
"""Most ids one statement takes (PostgreSQL allows 65,535 parameters, SQLite 32,766)."""


def opt_out(conn: Connection, contact_ids: Sequence[int], *, now: datetime, source: str) -> int:
    """Opt these contacts out of everything (outage notices and every other
    service) inside the caller's transaction; returns how many waiting messages
    were cancelled. A contact already opted out keeps the time
    and source of its first opt-out (that is the evidence)."""
    ids = list(contact_ids)
    cancelled = 0
    with counts.contacts_changing(conn, counts.subscribers_of(conn, ids)):
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            conn.execute(
                update(contact)
                .where(contact.c.id.in_(chunk), contact.c.consent != "opted_out")
                .values(consent="opted_out", consent_at=now, consent_source=source[:200])
            )
            conn.execute(
                update(contact_service)
                .where(
                    contact_service.c.contact_id.in_(chunk),
                    contact_service.c.consent != "opted_out",
                )
                .values(consent="opted_out", consent_at=now, consent_source=source[:200])
            )
            cancelled += conn.execute(
                update(message)
                .where(
                    message.c.contact_id.in_(chunk),
                    message.c.status.in_(("pending", "retry_wait")),
                )
                .values(status="cancelled")
            ).rowcount
    return cancelled
