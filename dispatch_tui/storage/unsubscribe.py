"""One-click unsubscribe from e-mail notices (RFC 8058), for the public web.

Every e-mail notice carries a link (in its body and its `List-Unsubscribe`
header) holding a random token bound to its contact (`contact_token`, made
when the contact's first e-mail is built; one per contact, so every mail
it gets has the same link). `unsubscribe_by_token` opts that contact out
through `storage.consent`, the one path for opt-outs (what waits for it is
cancelled), and audits it. A token nobody holds changes nothing.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import Connection, Engine, insert, select, text

from dispatch_tui.storage import audit, consent
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.tables import contact, contact_token

__all__ = [
    "PATH",
    "UnsubscribeResult",
    "UnsubscribeStatus",
    "tokens_for",
    "unsubscribe_by_token",
    "unsubscribe_url",
]

PATH: Final = "/unsubscribe/"
"""Where the public web serves the link, under `web.public_url`: GET shows a button,
POST (the one-click request mail clients send) unsubscribes."""
_TOKEN: Final = re.compile(r"[A-Za-z0-9_-]{43}")
SOURCE: Final = "unsubscribe link in an e-mail notice"


def unsubscribe_url(base: str, token: str) -> str:
    return f"{base.rstrip('/')}{PATH}{token}"


def tokens_for(conn: Connection, contact_ids: Sequence[int], *, now: datetime) -> dict[int, str]:
    """Each contact's token, made for those without one (inside the caller's write)."""
    ids = sorted(set(contact_ids))
    if not ids:
        return {}
    found = dict(
        conn.execute(
            select(contact_token.c.contact_id, contact_token.c.token).where(
                contact_token.c.contact_id.in_(ids)
            )
        ).all()
    )
    missing = [
        {"contact_id": i, "token": secrets.token_urlsafe(32), "created_at": now}
        for i in ids
        if i not in found
    ]
    if missing:
        conn.execute(insert(contact_token), missing)
        found.update((m["contact_id"], m["token"]) for m in missing)
    return {int(k): str(v) for k, v in found.items()}


class UnsubscribeStatus(StrEnum):
    UNSUBSCRIBED = "unsubscribed"
    ALREADY = "already"
    """The contact had opted out before: nothing changed."""
    UNKNOWN = "unknown"
    """No contact has this token: nothing changed."""


@dataclass(frozen=True)
class UnsubscribeResult:
    status: UnsubscribeStatus
    cancelled: int = 0
    """Messages that were waiting for the contact and will not go."""


def _contact_of(conn: Connection, token: str) -> int | None:
    """The contact `token` names. On PostgreSQL the web may not read contact_token (every
    token would unsubscribe anyone): a function answers for the one token (migration 0021)."""
    if conn.dialect.name == "postgresql":
        query = text("SELECT dispatch_web_unsubscribe_contact(:token)").bindparams(token=token)
        return conn.execute(query).scalar()
    return conn.execute(
        select(contact_token.c.contact_id).where(contact_token.c.token == token)
    ).scalar()


def unsubscribe_by_token(
    engine: Engine, token: str, *, actor: str, now: datetime | None = None
) -> UnsubscribeResult:
    """Opt out the contact `token` names; `actor` (the web process's login) is audited."""
    if not _TOKEN.fullmatch(token):
        return UnsubscribeResult(UnsubscribeStatus.UNKNOWN)
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        contact_id = _contact_of(conn, token)
        if contact_id is None:
            return UnsubscribeResult(UnsubscribeStatus.UNKNOWN)
        state = conn.execute(select(contact.c.consent).where(contact.c.id == contact_id)).scalar()
        if state == "opted_out":
            return UnsubscribeResult(UnsubscribeStatus.ALREADY)
        cancelled = consent.opt_out(conn, [contact_id], now=now, source=SOURCE)
        audit.append(
            conn,
            actor=actor,
            action="unsubscribe",
            entity="contact",
            entity_id=contact_id,
            detail={"source": SOURCE, "cancelled": cancelled},
            at=now,
        )
    return UnsubscribeResult(UnsubscribeStatus.UNSUBSCRIBED, cancelled)
