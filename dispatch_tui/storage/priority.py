"""Priority customers of an outage (life support, hospitals): who they are, how to reach
them by phone, and whether someone has called them.

A notice is not enough for them: the dispatcher calls each one, and says so here.
Calls are recorded only in the audit log (action `priority_called`, entity the
outage), which is append-only and names who called: the list reads them back
from there, so there is no second record of a call that could disagree.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select

from dispatch_tui.domain.roles import Action
from dispatch_tui.storage import audit
from dispatch_tui.storage.affected import affected_condition
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.outages import OutageError, get_outage, load_selection
from dispatch_tui.storage.tables import audit_log, contact, subscriber, subscription
from dispatch_tui.storage.tables import metering_point as mp
from dispatch_tui.storage.users import refusal_for

CALLED = "priority_called"
"""The audit action of one call to a priority metering point's customer."""


@dataclass(frozen=True)
class PriorityPoint:
    """One affected priority metering point and the people to call about it."""

    mp_id: str
    address: str
    names: tuple[str, ...]
    phones: tuple[str, ...]
    called_by: str | None = None
    called_at: datetime | None = None


def _address(settlement: str, street: str, house: str) -> str:
    return ", ".join(part for part in (settlement, f"{street} {house}".strip()) if part)


def _calls(conn: Connection, outage_id: int) -> dict[str, tuple[str, datetime]]:
    """The first recorded call per metering point id: (who, when)."""
    rows = conn.execute(
        select(audit_log.c.actor, audit_log.c.at, audit_log.c.detail)
        .where(
            audit_log.c.entity == "outage",
            audit_log.c.entity_id == str(outage_id),
            audit_log.c.action == CALLED,
        )
        .order_by(audit_log.c.id)
    )
    calls: dict[str, tuple[str, datetime]] = {}
    for actor, at, detail in rows:
        calls.setdefault(str(detail.get("metering_point")), (actor, at))
    return calls


def priority_points(conn: Connection, outage_id: int) -> list[PriorityPoint]:
    """The outage's affected priority metering points, by id, with every subscriber's
    name and phone numbers (consent does not matter for a call) and who called."""
    selection = load_selection(conn, outage_id)
    if selection.is_empty:
        return []
    points = conn.execute(
        select(mp.c.id, mp.c.mp_id, mp.c.settlement, mp.c.street, mp.c.house)
        .where(affected_condition(conn, selection), mp.c.priority.is_(True))
        .order_by(mp.c.mp_id)
    ).all()
    if not points:
        return []
    ids = [p.id for p in points]
    names: dict[int, list[str]] = {}
    phones: dict[int, list[str]] = {}
    people = conn.execute(
        select(subscription.c.mp_id, subscriber.c.name, contact.c.channel, contact.c.address)
        .join(subscriber, subscriber.c.id == subscription.c.subscriber_id)
        .outerjoin(contact, contact.c.subscriber_id == subscriber.c.id)
        .where(subscription.c.mp_id.in_(ids))
        .order_by(subscriber.c.name, contact.c.address)
    )
    for point_id, name, channel, address in people:
        if name and name not in names.setdefault(point_id, []):
            names[point_id].append(name)
        if channel == "sms" and address not in phones.setdefault(point_id, []):
            phones[point_id].append(address)
    calls = _calls(conn, outage_id)
    found: list[PriorityPoint] = []
    for p in points:
        who, when = calls.get(p.mp_id, (None, None))
        found.append(
            PriorityPoint(
                p.mp_id,
                _address(p.settlement, p.street, p.house),
                tuple(names.get(p.id, ())),
                tuple(phones.get(p.id, ())),
                who,
                when,
            )
        )
    return found


def uncalled_count(conn: Connection, outage_id: int) -> tuple[int, int]:
    """(priority metering points, of them not yet called) for the approvals screen."""
    points = priority_points(conn, outage_id)
    return len(points), sum(1 for p in points if p.called_by is None)


def mark_called(engine: Engine, outage_id: int, mp_id: str, *, actor: str, note: str = "") -> None:
    """Record that ``actor`` called the customers of ``mp_id`` about this outage."""
    with write_transaction(engine) as conn:
        refusal = refusal_for(conn, actor, Action.CALL_PRIORITY)
        if refusal:
            raise OutageError(refusal)
        get_outage(conn, outage_id)
        if mp_id not in {p.mp_id for p in priority_points(conn, outage_id)}:
            raise OutageError(f"{mp_id} is not a priority metering point of outage #{outage_id}")
        earlier = _calls(conn, outage_id).get(mp_id)
        if earlier is not None:
            who, when = earlier
            raise OutageError(
                f"{mp_id} was already marked called by {who} at "
                f"{when.astimezone(UTC):%Y-%m-%d %H:%M} UTC"
            )
        detail = {"metering_point": mp_id, **({"note": note.strip()} if note.strip() else {})}
        audit.append(
            conn,
            actor=actor,
            action=CALLED,
            entity="outage",
            entity_id=outage_id,
            detail=detail,
        )


CSV_COLUMNS = ("metering_point", "address", "names", "phones", "called_by", "called_at_utc")


def priority_csv(points: list[PriorityPoint]) -> str:
    """The list as CSV (UTF-8, one row per metering point; several names or phones
    separated by "; "), for the people who call from a spreadsheet or a printout."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for p in points:
        when = p.called_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M") if p.called_at else ""
        writer.writerow(
            (p.mp_id, p.address, "; ".join(p.names), "; ".join(p.phones), p.called_by or "", when)
        )
    return out.getvalue()
