"""The public listing of planned works: what a person may see of an outage.

An outage reaches the public once approved: its window, its type, the
settlements, streets and houses it touches, and its last change ("moved
from …", "cancelled"), kept until the time people were first given has
passed. Nothing here knows a subscriber: the data has no personal field.

Pure: the grouping (settlement → street → houses in ranges, reusing
`address_list`), the "is my address affected?" match and the iCalendar
SEQUENCE are functions of plain values and the clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from dispatch_tui.domain import address_list
from dispatch_tui.domain.templates import house_key
from dispatch_tui.domain.text import fold

SEARCH_DAYS: Final = 30
"""How far ahead "is my address affected?" looks."""


@dataclass(frozen=True)
class PublicUtility:
    code: str
    name: str
    country: str
    timezone: str
    language: str
    contact_phone: str
    """The utility's own number, printed in every notice."""


@dataclass(frozen=True, order=True)
class PublicAddress:
    settlement: str
    street: str
    house: str


@dataclass(frozen=True)
class PublicWork:
    """One approved (or approved, then cancelled) outage as the public sees it."""

    outage_id: int
    utility_code: str
    starts_at: datetime
    ends_at: datetime
    urgent: bool
    cancelled: bool
    reason: str
    revision: int
    changed_at: datetime
    """When its public state last changed (approval, amendment, cancellation)."""
    moved_from: tuple[datetime, datetime] | None
    """The window people were given before the last amendment, if any."""
    addresses: tuple[PublicAddress, ...]

    def visible(self, now: datetime) -> bool:
        """Listed until its end; a cancelled one until the end people were given."""
        return max(self.ends_at, self.moved_from[1] if self.moved_from else self.ends_at) > now

    def moved_visible(self, now: datetime) -> bool:
        """ "moved from …" stays until the original window has passed."""
        return self.moved_from is not None and self.moved_from[1] > now

    @property
    def sequence(self) -> int:
        """iCalendar SEQUENCE: up by two per amendment (a new revision), one more when cancelled."""
        return 2 * (self.revision - 1) + (1 if self.cancelled else 0)


@dataclass(frozen=True)
class StreetLine:
    """One street of a settlement touched by one work, its houses in ranges."""

    street: str
    houses: str
    work: PublicWork


@dataclass(frozen=True)
class SettlementSection:
    settlement: str
    lines: tuple[StreetLine, ...]


def _street(address: PublicAddress) -> str:
    """A village without street names lists its houses under the settlement alone."""
    street = " ".join(address.street.split())
    return "" if fold(street) == fold(address.settlement) else street


def streets(addresses: Iterable[PublicAddress]) -> dict[str, dict[str, str]]:
    """settlement → street → houses text ("5, 7, 9-15"), each sorted naturally."""
    by_place: dict[str, dict[str, set[str]]] = {}
    for a in addresses:
        settlement = " ".join(a.settlement.split())
        houses = by_place.setdefault(settlement, {}).setdefault(_street(a), set())
        if a.house.strip():
            houses.add(" ".join(a.house.split()))
    return {
        settlement: {
            street: address_list.houses_text(sorted(houses, key=house_key))
            for street, houses in sorted(by_street.items(), key=lambda kv: fold(kv[0]))
        }
        for settlement, by_street in sorted(by_place.items(), key=lambda kv: fold(kv[0]))
    }


def sections(works: Sequence[PublicWork], now: datetime) -> tuple[SettlementSection, ...]:
    """The listing: settlements in order, each with its streets and the works on them
    (by street, then start)."""
    lines: dict[str, list[StreetLine]] = {}
    for work in works:
        if not work.visible(now):
            continue
        for settlement, by_street in streets(work.addresses).items():
            for street, houses in by_street.items():
                lines.setdefault(settlement, []).append(StreetLine(street, houses, work))
    return tuple(
        SettlementSection(
            settlement,
            tuple(
                sorted(found, key=lambda x: (fold(x.street), x.work.starts_at, x.work.outage_id))
            ),
        )
        for settlement, found in sorted(lines.items(), key=lambda kv: fold(kv[0]))
    )


def settlements(works: Sequence[PublicWork], now: datetime) -> tuple[str, ...]:
    """The settlements the listing names, in order (one calendar each)."""
    return tuple(section.settlement for section in sections(works, now))


def in_settlement(works: Sequence[PublicWork], settlement: str) -> tuple[PublicWork, ...]:
    """The works touching `settlement` (folded match)."""
    key = fold(settlement)
    return tuple(w for w in works if any(fold(a.settlement) == key for a in w.addresses))


def _soon(work: PublicWork, now: datetime, days: int) -> bool:
    return work.visible(now) and work.starts_at < now + timedelta(days=days)


def street_matches(street: str, wanted: str) -> bool:
    """Whether a street is the one asked for: empty asks for all, else the whole folded
    name or a prefix of one of its words ("presern" finds "Prešernova ulica")."""
    key = fold(wanted)
    words = fold(street)
    return not key or words == key or any(word.startswith(key) for word in words.split())


def affecting(
    works: Sequence[PublicWork],
    settlement: str,
    street: str,
    now: datetime,
    *,
    days: int = SEARCH_DAYS,
) -> tuple[PublicWork, ...]:
    """The works of the next `days` that touch a street of a settlement (folded, so
    "presernova" finds "Prešernova ulica" typed in full or not: a prefix of a word)."""
    place = fold(settlement)
    found = []
    for work in works:
        if not _soon(work, now, days):
            continue
        for a in work.addresses:
            if fold(a.settlement) != place:
                continue
            if street_matches(_street(a) or a.settlement, street):
                found.append(work)
                break
    return tuple(sorted(found, key=lambda w: (w.starts_at, w.outage_id)))


def affecting_address(
    works: Sequence[PublicWork],
    address: PublicAddress,
    now: datetime,
    *,
    days: int = SEARCH_DAYS,
) -> tuple[PublicWork, ...]:
    """The works of the next `days` that touch exactly this address (a metering point's)."""
    return tuple(
        sorted(
            (w for w in works if _soon(w, now, days) and address in w.addresses),
            key=lambda w: (w.starts_at, w.outage_id),
        )
    )
