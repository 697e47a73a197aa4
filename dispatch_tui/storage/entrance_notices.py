"""What the printed entrance notices of an outage say (domain.entrance_notices):
the affected entrances, the window in the utility's time and language, the
reason and the utility's number. Only an approved outage has notices to
print: a draft may still change, a cancelled one must not be posted. Only public
columns are read (the public web's role may print them too)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from dispatch_tui.domain import templates
from dispatch_tui.domain.entrance_notices import Entrance, SheetText, entrances, sheet_text
from dispatch_tui.storage.affected import affected_condition
from dispatch_tui.storage.outages import OutageError, load_selection
from dispatch_tui.storage.tables import metering_point, outage, utility

__all__ = ["NoticeSheets", "notice_sheets"]

PRINTABLE = ("approved",)


@dataclass(frozen=True)
class NoticeSheets:
    """One outage's entrance notices: one A4 page per entrance."""

    outage_id: int
    language: str
    utility_name: str
    urgent: bool
    text: SheetText
    when: str
    reason: str
    contact: str
    entrances: tuple[Entrance, ...]


def notice_sheets(conn: Connection, outage_id: int) -> NoticeSheets:
    """The sheets of an approved outage; OutageError says why there are none."""
    row = conn.execute(
        select(
            outage.c.status,
            outage.c.starts_at,
            outage.c.ends_at,
            outage.c.urgent,
            outage.c.reason,
            utility.c.name.label("utility_name"),
            utility.c.timezone,
            utility.c.language,
            utility.c.contact_phone,
        )
        .join(utility, utility.c.id == outage.c.utility_id)
        .where(outage.c.id == outage_id)
    ).one_or_none()
    if row is None:
        raise OutageError(f"outage {outage_id} does not exist (deleted by someone else?)")
    if row.status not in PRINTABLE:
        raise OutageError(
            f"outage {outage_id} is {row.status}: only an approved outage's notices are printed"
        )
    language, phone = row.language, row.contact_phone
    addresses = conn.execute(
        select(metering_point.c.settlement, metering_point.c.street, metering_point.c.house)
        .where(affected_condition(conn, load_selection(conn, outage_id)))
        .distinct()
    ).all()
    text = sheet_text(language)
    date, start, end = templates.local_window(
        row.starts_at, row.ends_at, row.timezone, language, "full"
    )
    reason = " ".join(row.reason.split())
    return NoticeSheets(
        outage_id=outage_id,
        language=language,
        utility_name=row.utility_name,
        urgent=row.urgent,
        text=text,
        when=text.when.format(date=date, start=start, end=end),
        reason=text.reason.format(reason=reason),
        contact=text.contact.format(phone=phone),
        entrances=tuple(entrances((r.settlement, r.street, r.house) for r in addresses)),
    )
