"""Opting contacts out, in one place (rule 6: opt-out wins).

Every path that ends a contact's consent (an inbound STOP or ODJAVA, a bot
/stop or /remove, a user who blocked the bot, an operator recording a
customer's request) must also cancel what still waits for that contact:
fan-out checks consent only when it builds messages, so a message built
before the opt-out would otherwise still go.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, update

from dispatch_tui.storage.tables import contact, message


def opt_out(conn: Connection, contact_ids: Sequence[int], *, now: datetime, source: str) -> int:
    """Opt these contacts out inside the caller's transaction; returns how many
    waiting messages were cancelled. A contact already opted out keeps the time
    and source of its first opt-out (that is the evidence)."""
    ids = list(contact_ids)
    if not ids:
        return 0
    conn.execute(
        update(contact)
        .where(contact.c.id.in_(ids), contact.c.consent != "opted_out")
        .values(consent="opted_out", consent_at=now, consent_source=source[:200])
    )
    return int(
        conn.execute(
            update(message)
            .where(
                message.c.contact_id.in_(ids),
                message.c.status.in_(("pending", "retry_wait")),
            )
            .values(status="cancelled")
        ).rowcount
    )
