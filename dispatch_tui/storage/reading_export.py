"""`dispatch-tui export readings --period 2026-11`: the meter readings accepted for a
period, for billing (seed 003: bills from actual readings, not estimates).

One CSV row per metering point with an accepted reading of the period: the
utility, the account, the point, the reading (kWh; the night register's
too where there are two), the consumption since the previous reading, the
channel it came by and when (UTC). A correction in the window replaced
the earlier reading, so each point has one row. Anyone who may view
subscribers may export; the file is readable by its owner only.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import TextIO

from sqlalchemy import Engine, select

from dispatch_tui.domain.reading_parse import format_wh
from dispatch_tui.domain.roles import Action
from dispatch_tui.storage.evidence import _private
from dispatch_tui.storage.tables import meter_reading, metering_point, subscriber, utility
from dispatch_tui.storage.users import refusal_for

__all__ = [
    "COLUMNS",
    "ReadingExportError",
    "check_period",
    "export_readings",
    "export_readings_file",
]

COLUMNS = (
    "utility",
    "account",
    "metering_point",
    "period",
    "reading_kwh",
    "night_kwh",
    "consumption_kwh",
    "channel",
    "received_at",
)
_PERIOD = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")


class ReadingExportError(ValueError):
    """Bad arguments or a refused export; says which (nothing written)."""


def check_period(period: str) -> str:
    if not _PERIOD.fullmatch(period.strip()):
        raise ReadingExportError(f"--period {period[:20]!r}: give a month as YYYY-MM, like 2026-11")
    return period.strip()


def _kwh(wh: int | None) -> str:
    return "" if wh is None else format_wh(wh)


def export_readings(
    engine: Engine, period: str, out: TextIO, *, actor: str, utility_code: str | None = None
) -> int:
    """Write the period's accepted readings as CSV to `out`; the number of rows."""
    period = check_period(period)
    with engine.connect() as conn:
        refusal = refusal_for(conn, actor, Action.VIEW)
        if refusal is not None:
            raise ReadingExportError(refusal)
        query = (
            select(
                utility.c.code,
                subscriber.c.account,
                metering_point.c.mp_id,
                meter_reading.c.period,
                meter_reading.c.value_wh,
                meter_reading.c.night_wh,
                meter_reading.c.consumption_wh,
                meter_reading.c.channel,
                meter_reading.c.received_at,
            )
            .join(metering_point, metering_point.c.id == meter_reading.c.mp_id)
            .join(utility, utility.c.id == metering_point.c.utility_id)
            .outerjoin(subscriber, subscriber.c.id == meter_reading.c.subscriber_id)
            .where(meter_reading.c.period == period, meter_reading.c.status == "accepted")
            .order_by(utility.c.code, metering_point.c.mp_id)
        )
        if utility_code is not None:
            known = conn.execute(select(utility.c.id).where(utility.c.code == utility_code))
            if known.first() is None:
                raise ReadingExportError(f"--utility {utility_code[:32]!r}: no such utility")
            query = query.where(utility.c.code == utility_code)
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        count = 0
        for r in conn.execute(query):
            writer.writerow(
                [
                    r.code,
                    r.account or "",
                    r.mp_id,
                    r.period,
                    _kwh(r.value_wh),
                    _kwh(r.night_wh),
                    _kwh(r.consumption_wh),
                    r.channel,
                    r.received_at.isoformat(timespec="seconds"),
                ]
            )
            count += 1
    out.flush()
    return count


def export_readings_file(
    engine: Engine,
    period: str,
    path: Path,
    *,
    actor: str,
    utility_code: str | None = None,
    force: bool = False,
) -> int:
    """`export_readings` into `path` (mode 0600); a refused export leaves no file."""
    check_period(period)
    path = path.expanduser()
    with _private(path, force=force) as out:
        try:
            return export_readings(engine, period, out, actor=actor, utility_code=utility_code)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
