"""Answers to a meter reading, per language (the seeds' three plus English).

One SMS segment where it can be: the reading back, the consumption since the
last one, or why it was not taken and what to do. Dates are day.month, as
the seeds' countries write them.
"""

from __future__ import annotations

from datetime import date
from typing import Final, TypeVar

from dispatch_tui.domain.reading_checks import Reason
from dispatch_tui.domain.reading_parse import format_wh

__all__ = ["accepted_text", "ask_text", "refused_text"]

_T = TypeVar("_T")

_ACCEPTED: Final = {
    "uk": "Показ {values} за {period} прийнято. Спожито з минулого: {used} кВт·год.",
    "en": "Reading {values} for {period} received. Used since the last one: {used} kWh.",
    "sl": "Stanje {values} za {period} je sprejeto. Poraba od zadnjega: {used} kWh.",
    "bg": "Показание {values} за {period} е прието. Потребено от предишното: {used} kWh.",
}
_FIRST: Final = {
    "uk": "Показ {values} за {period} прийнято. Дякуємо!",
    "en": "Reading {values} for {period} received. Thank you!",
    "sl": "Stanje {values} za {period} je sprejeto. Hvala!",
    "bg": "Показание {values} за {period} е прието. Благодарим!",
}
_REPLACED: Final = {
    "uk": " Попередній показ за {period} замінено.",
    "en": " It replaces the earlier reading for {period}.",
    "sl": " Nadomešča prejšnje stanje za {period}.",
    "bg": " То заменя предишното за {period}.",
}
_REFUSED: Final[dict[str, dict[Reason, str]]] = {
    "uk": {
        Reason.EMPTY: "Надішліть показ лічильника цифрами.",
        Reason.NOT_A_NUMBER: "Показ має бути числом, напр. 12345 або 12345,6.",
        Reason.TOO_PRECISE: "Вкажіть не більше 3 знаків після коми.",
        Reason.TOO_LONG: "Показ задовгий. Перевірте число на лічильнику.",
        Reason.COUNT: "Потрібно {registers} показ(и): {example}.",
        Reason.AMBIGUOUS: "Незрозуміло, де який показ. Пишіть без пробілів у числах: {example}.",
        Reason.UNKNOWN_ACCOUNT: "Рахунок {id} не знайдено або дані не збігаються.",
        Reason.UNVERIFIED: "Цей номер не підтверджений для рахунку {id}. Покази не прийнято.",
        Reason.CHOOSE_POINT: "Кілька точок обліку. Надішліть: <точка> <показ>. Точки: {points}",
        Reason.LOCKED: "Забагато спроб для {id}. Телефонуйте: {phone}.",
        Reason.BELOW_PREVIOUS: "Показ менший за попередній ({previous}). Перевірте число.",
        Reason.IMPLAUSIBLE: "Показ означає понад {max} кВт·год на добу. Перевірте число.",
        Reason.OUTSIDE_WINDOW: "Покази приймаються з {first} до {last}. Надішліть тоді, дякуємо!",
    },
    "en": {
        Reason.EMPTY: "Please send the meter reading in digits.",
        Reason.NOT_A_NUMBER: "A reading is a number, like 12345 or 12345.6.",
        Reason.TOO_PRECISE: "Please give at most 3 decimals.",
        Reason.TOO_LONG: "That reading is too long. Please check the meter.",
        Reason.COUNT: "Please send {registers} reading(s): {example}.",
        Reason.AMBIGUOUS: "Which number is which? Write them without spaces: {example}.",
        Reason.UNKNOWN_ACCOUNT: "We cannot find {id}, or the details do not match.",
        Reason.UNVERIFIED: "This phone is not verified for {id}; the reading was not taken.",
        Reason.CHOOSE_POINT: "Several metering points: send <point> <reading>. Points: {points}",
        Reason.LOCKED: "Too many tries for {id}. Please call {phone}.",
        Reason.BELOW_PREVIOUS: "That is below the last reading ({previous}). Please check it.",
        Reason.IMPLAUSIBLE: "That means over {max} kWh a day. Please check the reading.",
        Reason.OUTSIDE_WINDOW: "Readings are taken from {first} to {last}. Please send it then.",
    },
    "sl": {
        Reason.EMPTY: "Pošljite stanje števca s številkami.",
        Reason.NOT_A_NUMBER: "Stanje je število, npr. 12345 ali 12345,6.",
        Reason.TOO_PRECISE: "Največ 3 decimalna mesta.",
        Reason.TOO_LONG: "Stanje je predolgo. Preverite števec.",
        Reason.COUNT: "Pošljite {registers} stanji/stanje: {example}.",
        Reason.AMBIGUOUS: "Ni jasno, katero je katero. Pišite brez presledkov: {example}.",
        Reason.UNKNOWN_ACCOUNT: "{id} ne najdemo ali se podatki ne ujemajo.",
        Reason.UNVERIFIED: "Ta telefon ni potrjen za {id}; stanje ni sprejeto.",
        Reason.CHOOSE_POINT: "Račun ima več merilnih mest. Pošljite <mesto> <stanje>: {points}",
        Reason.LOCKED: "Preveč poskusov za {id}. Pokličite {phone}.",
        Reason.BELOW_PREVIOUS: "Stanje je nižje od zadnjega ({previous}). Preverite ga.",
        Reason.IMPLAUSIBLE: "To pomeni več kot {max} kWh na dan. Preverite stanje.",
        Reason.OUTSIDE_WINDOW: "Stanja sprejemamo od {first} do {last}. Pošljite ga takrat, hvala!",
    },
    "bg": {
        Reason.EMPTY: "Изпратете показанието с цифри.",
        Reason.NOT_A_NUMBER: "Показанието е число, напр. 12345 или 12345,6.",
        Reason.TOO_PRECISE: "Най-много 3 знака след десетичната запетая.",
        Reason.TOO_LONG: "Показанието е твърде дълго. Проверете електромера.",
        Reason.COUNT: "Изпратете {registers} показания: {example}.",
        Reason.AMBIGUOUS: "Не е ясно кое е кое. Пишете без интервали: {example}.",
        Reason.UNKNOWN_ACCOUNT: "{id} не е намерен или данните не съвпадат.",
        Reason.UNVERIFIED: "Този телефон не е потвърден за {id}; показанието не е прието.",
        Reason.CHOOSE_POINT: "Номерът има няколко обекта. Изпратете <обект> <показание>: {points}",
        Reason.LOCKED: "Твърде много опити за {id}. Обадете се: {phone}.",
        Reason.BELOW_PREVIOUS: "Показанието е под предишното ({previous}). Проверете го.",
        Reason.IMPLAUSIBLE: "Това е над {max} kWh на ден. Проверете показанието.",
        Reason.OUTSIDE_WINDOW: "Показания се приемат от {first} до {last}. Изпратете го тогава.",
    },
}
_ASK: Final = {
    "uk": (
        "Надішліть показ лічильника, напр. 12345.",
        "Надішліть покази день і ніч, напр. 4512 1230.",
    ),
    "en": (
        "Send the meter reading, like 12345.",
        "Send the day and night readings, like 4512 1230.",
    ),
    "sl": ("Pošljite stanje števca, npr. 12345.", "Pošljite stanji VT in MT, npr. 4512 1230."),
    "bg": ("Изпратете показанието, напр. 12345.", "Изпратете дневно и нощно, напр. 4512 1230."),
}


def _texts(table: dict[str, _T], language: str) -> _T:
    return table.get(language, table["en"])


def _day(d: date) -> str:
    return f"{d.day:02d}.{d.month:02d}"


def _values(values: tuple[int, ...]) -> str:
    return " / ".join(format_wh(v) for v in values)


def accepted_text(
    language: str,
    period: str,
    values: tuple[int, ...],
    consumption_wh: int | None,
    *,
    replaced: bool,
) -> str:
    """The confirmation: the reading back and, with a previous one, the consumption."""
    shown = f"{period[5:]}.{period[:4]}"
    if consumption_wh is None:
        text = _texts(_FIRST, language).format(values=_values(values), period=shown)
    else:
        text = _texts(_ACCEPTED, language).format(
            values=_values(values), period=shown, used=format_wh(consumption_wh)
        )
    return text + (_texts(_REPLACED, language).format(period=shown) if replaced else "")


def refused_text(
    language: str,
    reason: Reason,
    *,
    identifier: str = "",
    registers: int = 1,
    first: date | None = None,
    last: date | None = None,
    previous: tuple[int, ...] = (),
    max_kwh_per_day: int = 0,
    points: tuple[str, ...] = (),
    phone: str = "",
) -> str:
    """Why the reading was not taken, and what to send instead."""
    example = "12345" if registers == 1 else "4512 1230"
    return _texts(_REFUSED, language)[reason].format(
        id=identifier,
        registers=registers,
        example=example,
        first=_day(first) if first else "",
        last=_day(last) if last else "",
        previous=_values(previous),
        max=max_kwh_per_day,
        points=", ".join(points),
        phone=phone,
    )


def ask_text(language: str, registers: int) -> str:
    """The bot's prompt for the numbers."""
    return _texts(_ASK, language)[registers - 1]
