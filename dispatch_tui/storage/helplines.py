"""Which utility's number to give for an account number, known or not."""

from __future__ import annotations

from sqlalchemy import Connection, select

from dispatch_tui.storage.tables import utility

_FORMAT_COUNTRY = {9: "UA", 12: "BG"}
"""Whose helpline an unknown account number gets: the country its length suggests."""


def helpline_for(conn: Connection, number: str) -> str:
    """The number to call about an account that does not exist: the utility of
    the country its format suggests, so the answer does not reveal that."""
    country = _FORMAT_COUNTRY.get(len(number), "SI")
    phone = conn.execute(
        select(utility.c.contact_phone)
        .order_by((utility.c.country == country).desc(), utility.c.id)
        .limit(1)
    ).scalar()
    return phone or ""
