"""What the printed entrance notices of an outage say (domain.entrance_notices):
the affected entrances, the window in the utility's time and language, the
reason and the utility's number. Only an approved outage has notices to
print: a draft may still change, a cancelled one must not be posted."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from dispatch_tui.domain import templates
from dispatch_tui.domain.entrance_notices import Entrance, SheetText, entrances, sheet_text
from dispatch_tui.storage.affected import affected_condition
from dispatch_tui.storage.outages import OutageError, get_outage
from dispatch_tui.storage.tables import metering_point, utility

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
    detail = get_outage(conn, outage_id)
    row = detail.row
    if row.status not in PRINTABLE:
        raise OutageError(
            f"outage {outage_id} is {row.status}: only an approved outage's notices are printed"
        )
    language, phone = conn.execute(
        select(utility.c.language, utility.c.contact_phone).where(utility.c.id == row.utility_id)
    ).one()
    addresses = conn.execute(
        select(metering_point.c.settlement, metering_point.c.street, metering_point.c.house)
        .where(affected_condition(conn, detail.selection))
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
