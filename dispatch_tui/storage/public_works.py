"""What the public web reads: approved outages, their streets and houses, the utilities.

Every query names its columns, and none of them is personal: no subscriber,
contact, account, operator or message is read (on PostgreSQL the web's role,
`dispatch_web`, may SELECT only these columns: migration 0017). The web calls
`load` from a background task and keeps the result in memory.

What counts as public: an outage once approved. While an amendment of it
waits for a new approval the public keeps the window people were told; after
re-approval the amendment notice's previous window becomes "moved from".
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, and_, func, or_, select

from dispatch_tui.domain import identifiers
from dispatch_tui.domain.public_works import PublicAddress, PublicUtility, PublicWork
from dispatch_tui.storage.affected import affected_condition
from dispatch_tui.storage.outages import load_selection
from dispatch_tui.storage.tables import metering_point, notice, outage, utility


def utilities(conn: Connection) -> list[PublicUtility]:
    rows = conn.execute(
        select(
            utility.c.code,
            utility.c.name,
            utility.c.country,
            utility.c.timezone,
            utility.c.language,
            utility.c.contact_phone,
        ).order_by(utility.c.code)
    )
    return [PublicUtility(*row) for row in rows]


def _addresses(conn: Connection, outage_id: int) -> tuple[PublicAddress, ...]:
    selection = load_selection(conn, outage_id)
    if selection.is_empty:
        return ()
    rows = conn.execute(
        select(metering_point.c.settlement, metering_point.c.street, metering_point.c.house)
        .where(affected_condition(conn, selection))
        .distinct()
    )
    return tuple(sorted(PublicAddress(*row) for row in rows))


def _moved_from(
    conn: Connection, outage_ids: Iterable[int]
) -> dict[int, tuple[datetime, datetime]]:
    """The previous window of each outage's latest amendment notice, if any."""
    ids = sorted(outage_ids)
    if not ids:
        return {}
    latest = (
        select(func.max(notice.c.id))
        .where(
            notice.c.outage_id.in_(ids),
            notice.c.kind == "amendment",
            notice.c.previous_starts_at.is_not(None),
        )
        .group_by(notice.c.outage_id)
    )
    rows = conn.execute(
        select(notice.c.outage_id, notice.c.previous_starts_at, notice.c.previous_ends_at).where(
            notice.c.id.in_(latest)
        )
    )
    return {oid: (start, end) for oid, start, end in rows}


def load(conn: Connection, now: datetime) -> list[PublicWork]:
    """Every outage the public may see now: approved and not ended, approved then cancelled
    before its end, or approved and amended (shown as told until re-approved)."""
    told = outage.c.told_starts_at.is_not(None)
    rows = conn.execute(
        select(
            outage.c.id,
            utility.c.code,
            outage.c.starts_at,
            outage.c.ends_at,
            outage.c.urgent,
            outage.c.status,
            outage.c.reason,
            outage.c.revision,
            outage.c.updated_at,
            outage.c.told_starts_at,
            outage.c.told_ends_at,
        )
        .join(utility, utility.c.id == outage.c.utility_id)
        .where(
            outage.c.approved_at.is_not(None),
            or_(
                and_(outage.c.status.in_(("approved", "cancelled")), outage.c.ends_at > now),
                and_(
                    outage.c.status.in_(("submitted", "draft")), told, outage.c.told_ends_at > now
                ),
            ),
        )
        .order_by(outage.c.starts_at, outage.c.id)
    ).all()
    moved = _moved_from(conn, (r.id for r in rows if r.status == "approved" and r.revision > 1))
    works = []
    for r in rows:
        pending = r.status in ("submitted", "draft")
        works.append(
            PublicWork(
                outage_id=r.id,
                utility_code=r.code,
                starts_at=r.told_starts_at if pending else r.starts_at,
                ends_at=r.told_ends_at if pending else r.ends_at,
                urgent=bool(r.urgent),
                cancelled=r.status == "cancelled",
                reason=" ".join(str(r.reason).split()),
                # The amendment waiting for approval is not public yet: its revision neither.
                revision=r.revision - 1 if pending else r.revision,
                changed_at=r.updated_at,
                moved_from=None if pending else moved.get(r.id),
                addresses=_addresses(conn, r.id),
            )
        )
    return works


def metering_point_address(
    conn: Connection, place: PublicUtility, mp_text: str
) -> PublicAddress | None:
    """The address of a metering point of `place` (its id as the utility writes it), or None.

    Raises identifiers.InvalidIdentifier for text that is no such id at all.
    """
    mp_id = identifiers.scheme_for(place.country).metering_point(mp_text)
    row = conn.execute(
        select(metering_point.c.settlement, metering_point.c.street, metering_point.c.house)
        .join(utility, utility.c.id == metering_point.c.utility_id)
        .where(utility.c.code == place.code, metering_point.c.mp_id == mp_id)
    ).one_or_none()
    return PublicAddress(*row) if row is not None else None
