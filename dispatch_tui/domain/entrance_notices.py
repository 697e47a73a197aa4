"""Printed notices at building entrances (EVN practice, and for people without a
phone): which entrances an outage reaches, and what each sheet says.

A building is settlement + street + the house's leading components; an
entrance is its "вх. X" component when the address has one (Bulgarian
blocks: "бл. 569, вх. Б, ап. 12"), so a block gets one sheet per entrance
and flats are never listed. Pure: standard library only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from dispatch_tui.domain.address_list import SEPARATOR

__all__ = ["Entrance", "SheetText", "entrances", "sheet_text"]

ENTRANCE_LABELS: Final = ("вх.", "вход", "entrance", "vhod")
UNIT_LABELS: Final = ("ап.", "кв.", "ет.", "stan", "flat", "apt.")
"""Components below an entrance: a sheet is per entrance, never per flat."""


@dataclass(frozen=True, order=True)
class Entrance:
    settlement: str
    street: str
    building: str
    entrance: str = ""

    def address(self) -> str:
        """How the sheet names it: "София, ул. Васил Левски, бл. 569, вх. Б"."""
        parts = [self.settlement, f"{self.street} {self.building}".strip()]
        if self.entrance:
            parts.append(self.entrance)
        return SEPARATOR.join(p for p in parts if p)


def _split(house: str) -> tuple[str, str]:
    """(building, entrance) of a house as written in the metering-point data."""
    building: list[str] = []
    entrance = ""
    for component in (c.strip() for c in house.split(",")):
        lowered = component.lower()
        if lowered.startswith(ENTRANCE_LABELS):
            entrance = component
            break
        if lowered.startswith(UNIT_LABELS):
            break
        if component:
            building.append(component)
    return SEPARATOR.join(building), entrance


def entrances(addresses: Iterable[tuple[str, str, str]]) -> list[Entrance]:
    """The distinct entrances of (settlement, street, house) addresses, in a walking
    order: by settlement, street, building number, entrance."""
    found = set()
    for settlement, street, house in addresses:
        building, entrance = _split(house)
        found.add(Entrance(settlement.strip(), street.strip(), building, entrance))
    return sorted(found, key=_walk)


def _walk(e: Entrance) -> tuple[object, ...]:
    digits = "".join(c for c in e.building if c.isdigit())[:9]
    return (e.settlement, e.street, int(digits) if digits else -1, e.building, e.entrance)


@dataclass(frozen=True)
class SheetText:
    title: str
    lead: str
    when: str
    reason: str
    contact: str
    urgent: str


_TEXTS: Final[dict[str, SheetText]] = {
    "sl": SheetText(
        "Obvestilo o načrtovanem izklopu električne energije",
        "Zaradi del na omrežju bo na tem naslovu prekinjena dobava električne energije:",
        "{date}, od {start} do predvidoma {end}",
        "Razlog: {reason}",
        "Informacije: {phone}",
        "Nujen izklop",
    ),
    "uk": SheetText(
        "Повідомлення про планове відключення електроенергії",
        "У зв'язку з роботами на мережі за цією адресою буде відключено електропостачання:",
        "{date}, з {start} до орієнтовно {end}",
        "Причина: {reason}",
        "Довідки за телефоном: {phone}",
        "Аварійне відключення",
    ),
    "bg": SheetText(
        "Съобщение за планирано прекъсване на електрозахранването",
        "Поради работа по мрежата електрозахранването на този адрес ще бъде прекъснато:",
        "{date}, от {start} до около {end}",
        "Причина: {reason}",
        "За информация: {phone}",
        "Непланирано прекъсване",
    ),
    "en": SheetText(
        "Notice of a planned power outage",
        "Because of work on the network, the electricity supply at this address will be off:",
        "{date}, from {start} until about {end}",
        "Reason: {reason}",
        "Information: {phone}",
        "Urgent outage",
    ),
}


def sheet_text(language: str) -> SheetText:
    """The sheet's fixed words in `language` (English for any other)."""
    return _TEXTS.get(language, _TEXTS["en"])
