"""Consent to the services besides outage notices (bill information, payment
reminders, meter-reading reminders), one per contact and service.

No row means never asked, which means no. The customer opts in and out
(bot menu, SMS keyword) with the time and the source kept as evidence; an
operator only ever records an opt-out (a customer's request by phone), as for
outage notices; on PostgreSQL a trigger refuses an operator's opt-in too.
STOP ends every service (storage.consent.opt_out).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select
from sqlalchemy.dialects import postgresql, sqlite

from dispatch_tui.domain.roles import Action
from dispatch_tui.storage import audit
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.models import SERVICES
from dispatch_tui.storage.subscribers import SubscriberError
from dispatch_tui.storage.tables import contact, contact_service
from dispatch_tui.storage.users import refusal_for

SERVICE_NAMES = {
    "bill_info": "bill information",
    "payment_reminder": "payment reminders",
    "reading_reminder": "meter-reading reminders",
}
"""The services as the (English) screens say them."""


@dataclass(frozen=True)
class ServiceConsent:
    consent: str
    at: datetime
    source: str


def service_states(conn: Connection, contact_id: int) -> dict[str, ServiceConsent]:
    """One contact's consent to each service it was asked about, with when and how."""
    rows = conn.execute(
        select(
            contact_service.c.service,
            contact_service.c.consent,
            contact_service.c.consent_at,
            contact_service.c.consent_source,
        ).where(contact_service.c.contact_id == contact_id)
    )
    return {str(r.service): ServiceConsent(r.consent, r.consent_at, r.consent_source) for r in rows}


def service_consents(conn: Connection, contact_ids: Iterable[int]) -> dict[int, dict[str, str]]:
    """{contact: {service: consent}} for the services each contact was asked about."""
    ids = list(contact_ids)
    found: dict[int, dict[str, str]] = {}
    if not ids:
        return found
    for contact_id, service, consent in conn.execute(
        select(
            contact_service.c.contact_id, contact_service.c.service, contact_service.c.consent
        ).where(contact_service.c.contact_id.in_(ids))
    ):
        found.setdefault(int(contact_id), {})[str(service)] = str(consent)
    return found


def set_service_consent(
    conn: Connection,
    contact_ids: Sequence[int],
    service: str,
    *,
    opted_in: bool,
    now: datetime,
    source: str,
) -> None:
    """Opt these contacts in to (or out of) `service`, inside the caller's
    transaction; a contact already in that state keeps the time and source of
    when it got there (that is the evidence)."""
    if service not in SERVICES:
        raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICES)}")
    if not contact_ids:
        return
    dialect_insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    stmt = dialect_insert(contact_service)
    consent = "opted_in" if opted_in else "opted_out"
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["contact_id", "service"],
            set_={
                "consent": stmt.excluded.consent,
                "consent_at": stmt.excluded.consent_at,
                "consent_source": stmt.excluded.consent_source,
            },
            where=contact_service.c.consent != stmt.excluded.consent,
        ),
        [
            {
                "contact_id": contact_id,
                "service": service,
                "consent": consent,
                "consent_at": now,
                "consent_source": source[:200],
            }
            for contact_id in contact_ids
        ],
    )


def record_service_opt_out(
    engine: Engine,
    contact_id: int,
    service: str | None,
    *,
    actor: str,
    reason: str,
    now: datetime | None = None,
) -> list[str]:
    """The customer asked an operator to stop one service on this contact (None:
    every service it gets; outage notices stay). Returns the services stopped.

    Role-checked like the outage opt-out (storage.subscribers.record_opt_out:
    Action.CANCEL) and audited with the reason, in one transaction."""
    reason = " ".join(reason.split())
    if not reason:
        raise SubscriberError("say why: the customer's request is recorded with a reason")
    if service is not None and service not in SERVICES:
        raise SubscriberError(f"unknown service {service!r}")
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        refusal = refusal_for(conn, actor, Action.CANCEL)
        if refusal:
            raise SubscriberError(refusal)
        row = conn.execute(
            select(contact.c.channel, contact.c.address).where(contact.c.id == contact_id)
        ).first()
        if row is None:
            raise SubscriberError(f"contact {contact_id} does not exist")
        current = service_consents(conn, [contact_id]).get(contact_id, {})
        asked = [service] if service is not None else list(SERVICES)
        stopping = [name for name in asked if current.get(name) in ("opted_in", "pending")]
        if not stopping:
            what = SERVICE_NAMES[service] if service is not None else "any service"
            raise SubscriberError(f"{row.channel} {row.address} does not get {what}")
        for name in stopping:
            set_service_consent(
                conn,
                [contact_id],
                name,
                opted_in=False,
                now=now,
                source=f"operator {actor}: {reason}",
            )
        audit.append(
            conn,
            actor=actor,
            action="opt_out_service",
            entity="contact",
            entity_id=contact_id,
            detail={"channel": row.channel, "services": stopping, "reason": reason},
            at=now,
        )
        return stopping
