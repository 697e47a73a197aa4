"""Per-language planned-outage notice texts for SMS, e-mail and messenger bots.

One subscriber gets one message per notice, listing all of their affected
addresses, so the address list is the part that varies: it is grouped by
settlement and street to save characters, and on SMS it is cut to the
configured number of segments with a localized "and N more" (design:
"Message length"). Every template must carry date, start, expected end,
addresses, reason and the utility's contact number (design: "Content");
:func:`validate_template` is the check that runs before approval.

Dates and times are shown in the utility's time zone with babel, so a
daylight-saving change never shifts what the subscriber reads; SMS dates use
fixed patterns so that a CLDR update cannot change message text.

Pure: no I/O; imports only babel, the standard library, ``domain.sms`` and
``domain.address_list`` (the houses of a street, each shared part once).
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache, lru_cache
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_time
from babel.plural import PluralRule

from dispatch_tui.domain import address_list, sms

__all__ = [
    "CHANNELS",
    "EMAIL_SUBJECTS",
    "EMAIL_TEMPLATES",
    "KINDS",
    "LANGUAGES",
    "LIST_LIMIT",
    "OPTIONAL",
    "REQUIRED",
    "TEMPLATES",
    "Address",
    "NoticeContext",
    "RenderedNotice",
    "SmsPreview",
    "format_addresses",
    "local_date",
    "min_sms_segments",
    "render",
    "sms_preview",
    "validate_template",
    "worst_case_sms",
]

LANGUAGES: Final = ("sl", "uk", "bg", "en")
KINDS: Final = ("advance", "day_before", "day_of", "immediate", "amendment", "cancellation")
CHANNELS: Final = ("sms", "email", "telegram", "viber")

REQUIRED: Final = ("date", "start", "end", "addresses", "reason", "contact")
"""Placeholders every notice template must contain (design: "Content")."""
OPTIONAL: Final = ("utility", "extra", "prev_date", "prev_start", "prev_end")
"""Placeholders a template may use; any other name is an error."""

LIST_LIMIT: Final = 50
"""Addresses listed at most on uncapped channels (e-mail, bots) before "and N more":
a subscriber with hundreds of metering points (a municipality) still gets a readable text."""

_LOCALES: Final[Mapping[str, str]] = {"sl": "sl_SI", "uk": "uk_UA", "bg": "bg_BG", "en": "en_GB"}

# SMS dates are written with our own patterns, not CLDR's "short" format: a
# CLDR release once turned "30. 3. 26" into "30. 3. 2026", which changes real
# SMS text and segment counts. The two-digit year keeps a Slovene or
# Ukrainian notice a few characters shorter (UCS-2: 67 per segment).
SMS_DATE_PATTERNS: Final[Mapping[str, str]] = {
    "sl": "d. M. yy",
    "uk": "dd.MM.yy",
    "bg": "dd.MM.yy 'г'.",
    "en": "dd/MM/yyyy",
}


# --- data ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    """One affected address as the subscriber knows it (not a metering point id)."""

    settlement: str
    street: str
    house: str


@dataclass(frozen=True)
class NoticeContext:
    """Everything about the outage a notice text needs, already in the target language.

    `reason` and `extra_text` are the dispatcher's words for this language;
    times are aware UTC datetimes and are shown in `timezone` (IANA).
    """

    utility_name: str
    contact_phone: str
    timezone: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    title: str
    kind: str
    previous_starts_at: datetime | None = None
    previous_ends_at: datetime | None = None
    extra_text: str = ""


@dataclass(frozen=True)
class RenderedNotice:
    """A finished text; `subject` is set for e-mail only.

    `addresses_shown < addresses_total` means the list was cut and ends with
    "and N more". `segments` is the SMS segment count (1 for other channels),
    known anyway from fitting the text, so fan-out need not count again.
    """

    subject: str | None
    body: str
    addresses_shown: int
    addresses_total: int
    segments: int = 1


# --- templates ------------------------------------------------------------------------
#
# Short channels (SMS, Telegram, Viber) get one compact paragraph; the SMS
# wording avoids "–", "—" and "…" so that a transliterated text is pure GSM-7.
# `{extra}` is either empty or the dispatcher's text followed by a separator.
# They leave the utility's name out: the SMS sender id and the bot already
# say who writes, and the name would cost a tenth of a 3-part UCS-2 SMS.

_SL_TAIL: Final = "Naslovi: {addresses}. Vzrok: {reason}. {extra}Tel. {contact}"
_UK_TAIL: Final = "Адреси: {addresses}. Причина: {reason}. {extra}Тел. {contact}"
_BG_TAIL: Final = "Адреси: {addresses}. Причина: {reason}. {extra}Тел. {contact}"
_EN_TAIL: Final = "Addresses: {addresses}. Reason: {reason}. {extra}Tel. {contact}"

TEMPLATES: Final[Mapping[tuple[str, str], str]] = {
    # Slovene
    ("sl", "advance"): "Načrtovan izklop električne energije {date} od {start} do {end}. "
    + _SL_TAIL,
    ("sl", "immediate"): "Načrtovan izklop električne energije {date} od {start} do {end}. "
    + _SL_TAIL,
    ("sl", "day_before"): "Opomnik: načrtovani izklop električne energije {date} "
    "od {start} do {end}. " + _SL_TAIL,
    ("sl", "day_of"): "Načrtovan izklop električne energije {date} od {start}, "
    "predviden konec ob {end}. " + _SL_TAIL,
    ("sl", "amendment"): "Nov termin načrtovanega izklopa električne energije: "
    "{date} od {start} do {end} (namesto {prev_date} od {prev_start} do {prev_end}). " + _SL_TAIL,
    ("sl", "cancellation"): "Preklic: načrtovani izklop električne energije {date} "
    "od {start} do {end} ({reason}) ne bo izveden. "
    "Naslovi: {addresses}. {extra}Tel. {contact}",
    # Ukrainian
    ("uk", "advance"): "Планове відключення електроенергії {date} з {start} до {end}. " + _UK_TAIL,
    ("uk", "immediate"): "Планове відключення електроенергії {date} з {start} до {end}. "
    + _UK_TAIL,
    ("uk", "day_before"): "Нагадування: планове відключення електроенергії {date} "
    "з {start} до {end}. " + _UK_TAIL,
    ("uk", "day_of"): "Планове відключення електроенергії {date} з {start}, "
    "орієнтовне завершення о {end}. " + _UK_TAIL,
    ("uk", "amendment"): "Новий час планового відключення електроенергії: "
    "{date} з {start} до {end} (замість {prev_date} з {prev_start} до {prev_end}). " + _UK_TAIL,
    ("uk", "cancellation"): "Скасовано: планове відключення електроенергії {date} "
    "з {start} до {end} ({reason}) не відбудеться. "
    "Адреси: {addresses}. {extra}Тел. {contact}",
    # Bulgarian
    ("bg", "advance"): "Планирано прекъсване на електрозахранването на {date} "
    "от {start} до {end}. " + _BG_TAIL,
    ("bg", "immediate"): "Планирано прекъсване на електрозахранването на {date} "
    "от {start} до {end}. " + _BG_TAIL,
    ("bg", "day_before"): "Напомняне: планирано прекъсване на електрозахранването на {date} "
    "от {start} до {end}. " + _BG_TAIL,
    ("bg", "day_of"): "Планирано прекъсване на електрозахранването на {date} от {start}, "
    "очакван край в {end}. " + _BG_TAIL,
    ("bg", "amendment"): "Нов срок на планираното прекъсване на електрозахранването: "
    "{date} от {start} до {end} (вместо {prev_date} от {prev_start} до {prev_end}). " + _BG_TAIL,
    ("bg", "cancellation"): "Отменено: планираното прекъсване на електрозахранването "
    "на {date} от {start} до {end} ({reason}) няма да се състои. "
    "Адреси: {addresses}. {extra}Тел. {contact}",
    # English
    ("en", "advance"): "Planned power outage on {date} from {start} to {end}. " + _EN_TAIL,
    ("en", "immediate"): "Planned power outage on {date} from {start} to {end}. " + _EN_TAIL,
    ("en", "day_before"): "Reminder: planned power outage on {date} from {start} to {end}. "
    + _EN_TAIL,
    ("en", "day_of"): "Planned power outage on {date} from {start}, "
    "expected to end at {end}. " + _EN_TAIL,
    ("en", "amendment"): "Planned power outage rescheduled: {date} from {start} to {end} "
    "(was {prev_date} from {prev_start} to {prev_end}). " + _EN_TAIL,
    ("en", "cancellation"): "Cancelled: the planned power outage on {date} "
    "from {start} to {end} ({reason}) will not take place. "
    "Addresses: {addresses}. {extra}Tel. {contact}",
}
"""(language, kind) → body template for SMS, Telegram and Viber."""

_EMAIL_LEADS: Final[Mapping[str, Mapping[str, str]]] = {
    "sl": {
        "advance": "obveščamo vas o načrtovanem izklopu električne energije "
        "na spodaj navedenih naslovih.",
        "day_before": "opominjamo vas na načrtovani izklop električne energije "
        "na spodaj navedenih naslovih.",
        "day_of": "obveščamo vas o načrtovanem izklopu električne energije na spodaj "
        "navedenih naslovih. Napajanje bo predvidoma ponovno vzpostavljeno ob {end}.",
        "amendment": "termin načrtovanega izklopa električne energije na spodaj navedenih "
        "naslovih se je spremenil. Prej napovedani termin: {prev_date} od {prev_start} "
        "do {prev_end}. Novi termin je naveden spodaj.",
        "cancellation": "načrtovani izklop električne energije na spodaj navedenih naslovih "
        "je preklican in ne bo izveden.",
    },
    "uk": {
        "advance": "Повідомляємо про планове відключення електроенергії за адресами, "
        "наведеними нижче.",
        "day_before": "Нагадуємо про планове відключення електроенергії за адресами, "
        "наведеними нижче.",
        "day_of": "Повідомляємо про планове відключення електроенергії за адресами, "
        "наведеними нижче. Орієнтовний час відновлення електропостачання: {end}.",
        "amendment": "Змінено час планового відключення електроенергії за адресами, "
        "наведеними нижче. Раніше повідомлений час: {prev_date} з {prev_start} "
        "до {prev_end}. Новий час наведено нижче.",
        "cancellation": "Планове відключення електроенергії за адресами, наведеними нижче, "
        "скасовано, воно не відбудеться.",
    },
    "bg": {
        "advance": "Уведомяваме Ви за планирано прекъсване на електрозахранването "
        "на адресите по-долу.",
        "day_before": "Напомняме Ви за планирано прекъсване на електрозахранването "
        "на адресите по-долу.",
        "day_of": "Уведомяваме Ви за планирано прекъсване на електрозахранването на адресите "
        "по-долу. Очаквано възстановяване на захранването: {end}.",
        "amendment": "Срокът на планираното прекъсване на електрозахранването на адресите "
        "по-долу е променен. Предишен срок: {prev_date} от {prev_start} до {prev_end}. "
        "Новият срок е посочен по-долу.",
        "cancellation": "Планираното прекъсване на електрозахранването на адресите по-долу "
        "е отменено и няма да се състои.",
    },
    "en": {
        "advance": "We are writing to let you know about a planned power outage "
        "at the addresses below.",
        "day_before": "This is a reminder of a planned power outage at the addresses below.",
        "day_of": "A planned power outage is scheduled at the addresses below. "
        "Power is expected to be restored by {end}.",
        "amendment": "The planned power outage at the addresses below has been rescheduled. "
        "Previously announced: {prev_date} from {prev_start} to {prev_end}. "
        "The new time is shown below.",
        "cancellation": "The planned power outage at the addresses below has been cancelled "
        "and will not take place.",
    },
}

# (greeting, details block after the lead). Slovene letters continue in lower
# case after "Spoštovani,"; the other three start the lead with a capital.
_EMAIL_FRAMES: Final[Mapping[str, tuple[str, str]]] = {
    "sl": (
        "Spoštovani,",
        "Datum: {date}\nZačetek: {start}\nPredviden konec: {end}\nVzrok: {reason}\n"
        "Naslovi:\n{addresses}\n\n{extra}Za dodatne informacije pokličite {contact}.\n\n"
        "Lep pozdrav,\n{utility}",
    ),
    "uk": (
        "Доброго дня!",
        "Дата: {date}\nПочаток: {start}\nОрієнтовне завершення: {end}\nПричина: {reason}\n"
        "Адреси:\n{addresses}\n\n{extra}Довідки за телефоном {contact}.\n\n"
        "З повагою,\n{utility}",
    ),
    "bg": (
        "Здравейте,",
        "Дата: {date}\nНачало: {start}\nОчакван край: {end}\nПричина: {reason}\n"
        "Адреси:\n{addresses}\n\n{extra}За повече информация: тел. {contact}.\n\n"
        "С уважение,\n{utility}",
    ),
    "en": (
        "Dear customer,",
        "Date: {date}\nStart: {start}\nExpected end: {end}\nReason: {reason}\n"
        "Addresses:\n{addresses}\n\n{extra}For more information call {contact}.\n\n"
        "Kind regards,\n{utility}",
    ),
}


def _email_body(language: str, kind: str) -> str:
    greeting, details = _EMAIL_FRAMES[language]
    leads = _EMAIL_LEADS[language]
    lead = leads["advance" if kind == "immediate" else kind]
    return f"{greeting}\n\n{lead}\n\n{details}"


EMAIL_TEMPLATES: Final[Mapping[tuple[str, str], str]] = {
    (language, kind): _email_body(language, kind) for language in LANGUAGES for kind in KINDS
}
"""(language, kind) → e-mail body template: a letter with one line per street."""

_UNSUBSCRIBE: Final[Mapping[str, str]] = {
    "sl": "Obvestil po e-pošti ne želite več? Odjava: {url}",
    "uk": "Не бажаєте більше отримувати листи? Відписатися: {url}",
    "bg": "Не желаете повече известия по имейл? Отписване: {url}",
    "en": "No longer want these e-mails? Unsubscribe: {url}",
}


def with_unsubscribe(body: str, language: str, url: str) -> str:
    """An e-mail body with its unsubscribe link below a signature separator."""
    line = _UNSUBSCRIBE.get(language, _UNSUBSCRIBE["en"]).format(url=url)
    return f"{body}\n\n-- \n{line}"


_SUBJECTS: Final[Mapping[str, Mapping[str, str]]] = {
    "sl": {
        "advance": "Načrtovan izklop električne energije {date}",
        "day_before": "Opomnik: načrtovani izklop električne energije {date}",
        "day_of": "Načrtovan izklop električne energije {date}, predviden konec ob {end}",
        "amendment": "Nov termin: načrtovan izklop električne energije {date}",
        "cancellation": "Preklic: načrtovani izklop električne energije {date}",
    },
    "uk": {
        "advance": "Планове відключення електроенергії {date}",
        "day_before": "Нагадування: планове відключення електроенергії {date}",
        "day_of": "Планове відключення електроенергії {date}, орієнтовне завершення о {end}",
        "amendment": "Новий час: планове відключення електроенергії {date}",
        "cancellation": "Скасовано: планове відключення електроенергії {date}",
    },
    "bg": {
        "advance": "Планирано прекъсване на електрозахранването на {date}",
        "day_before": "Напомняне: планирано прекъсване на електрозахранването на {date}",
        "day_of": "Планирано прекъсване на електрозахранването на {date}, очакван край в {end}",
        "amendment": "Нов срок: планирано прекъсване на електрозахранването на {date}",
        "cancellation": "Отменено: планирано прекъсване на електрозахранването на {date}",
    },
    "en": {
        "advance": "Planned power outage on {date}",
        "day_before": "Reminder: planned power outage on {date}",
        "day_of": "Planned power outage on {date}, expected to end at {end}",
        "amendment": "Rescheduled: planned power outage on {date}",
        "cancellation": "Cancelled: planned power outage on {date}",
    },
}

EMAIL_SUBJECTS: Final[Mapping[tuple[str, str], str]] = {
    (language, kind): _SUBJECTS[language]["advance" if kind == "immediate" else kind]
    for language in LANGUAGES
    for kind in KINDS
}
"""(language, kind) → e-mail subject template (date and window, no addresses)."""

# "and N more" per language: plural noun by CLDR category, then where to see the rest.
_MORE: Final[Mapping[str, tuple[str, Mapping[str, str]]]] = {
    "sl": (
        "in še {n} {noun} (seznam na spletu ali po tel.)",
        {"one": "naslov", "two": "naslova", "few": "naslovi", "other": "naslovov"},
    ),
    "uk": (
        "та ще {n} {noun} (перелік на сайті або за тел.)",
        {"one": "адреса", "few": "адреси", "many": "адрес", "other": "адреси"},
    ),
    "bg": (
        "и още {n} {noun} (списък на сайта или на тел.)",
        {"one": "адрес", "other": "адреса"},
    ),
    "en": (
        "and {n} more {noun} (list on our website or by phone)",
        {"one": "address", "other": "addresses"},
    ),
}


# --- validation ---------------------------------------------------------------------


def _placeholders(template: str) -> list[str]:
    try:
        return [name for _, name, _, _ in string.Formatter().parse(template) if name is not None]
    except ValueError as exc:
        raise ValueError(f"template syntax: {exc}") from exc


def validate_template(template: str) -> list[str]:
    """Required placeholders missing from `template`, in `REQUIRED` order; [] if complete.

    Approval refuses an outage whose template returns anything here, so a
    notice can never go out without date, window, addresses, reason or contact.
    A template that cannot be rendered at all (unbalanced braces, an unknown
    or positional placeholder, a format spec) raises ValueError naming the
    problem instead: that is a broken template, not an incomplete one.
    """
    names = _placeholders(template)
    known = set(REQUIRED) | set(OPTIONAL)
    unknown = sorted({name for name in names if name not in known})
    if unknown:
        raise ValueError(
            f"unknown placeholder(s) {', '.join('{' + n + '}' for n in unknown)}; "
            f"allowed: {', '.join(REQUIRED + OPTIONAL)}"
        )
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is not None and (spec or conversion):
            raise ValueError(f"placeholder {{{name}}} must not have a format spec or conversion")
    present = set(names)
    return [name for name in REQUIRED if name not in present]


# --- addresses ----------------------------------------------------------------------

_DIGITS: Final = re.compile(r"(\d+)")


def house_key(house: str) -> tuple[tuple[int, int | str], ...]:
    """Natural order: 2 < 9 < 10 < 10a."""
    return tuple(
        (0, int(part)) if part.isdigit() else (1, part.casefold())
        for part in _DIGITS.split(house)
        if part
    )


def _normalise(addresses: Iterable[Address]) -> list[Address]:
    """Distinct addresses in display order (two meters at one house are one address)."""
    unique = {
        Address(
            " ".join(a.settlement.split()), " ".join(a.street.split()), " ".join(a.house.split())
        )
        for a in addresses
    }
    return sorted(
        unique,
        key=lambda a: (a.settlement.casefold(), a.street.casefold(), house_key(a.house), a),
    )


def _groups(addresses: Sequence[Address]) -> list[tuple[str, str, list[str]]]:
    """(settlement, street, houses) runs of consecutive sorted addresses.

    A street named like its settlement is a village without street names
    ("Velesovo, Velesovo 18"): its street is left out ("Velesovo 18").
    """
    groups: list[tuple[str, str, list[str]]] = []
    for a in addresses:
        street = "" if a.street.casefold() == a.settlement.casefold() else a.street
        if groups and groups[-1][0] == a.settlement and groups[-1][1] == street:
            groups[-1][2].append(a.house)
        else:
            groups.append((a.settlement, street, [a.house]))
    return groups


def _street_text(street: str, houses: list[str]) -> str:
    """A street and its houses, each shared part once: "ж.к. Люлин бл. 5, вх. А, ап. 3-5"."""
    numbers = address_list.houses_text([h for h in houses if h])
    return " ".join(part for part in (street, numbers) if part)


@cache
def _plural_rule(language: str) -> PluralRule:
    return Locale.parse(_LOCALES[language]).plural_form


def _more(language: str, n: int) -> str:
    """Localized "and N more (where to see them)" with the CLDR plural of "address"."""
    text, nouns = _MORE[language]
    category = _plural_rule(language)(n)
    return text.format(n=n, noun=nouns.get(category, nouns["other"]))


def _place(settlement: str, street: str, houses: list[str]) -> str:
    """One street with its settlement, e.g. "Kranj, Prešernova ulica 5, 7".

    A village without street names reads "Zgornja Besnica 45", no comma.
    """
    street_text = _street_text(street, houses)
    sep = ", " if street else " "
    return sep.join(p for p in (settlement, street_text) if p)


def _format(listed: Sequence[Address], language: str, hidden: int, lines: bool) -> str:
    groups = _groups(listed)
    if lines:
        rows = ["- " + _place(*group) for group in groups]
        if hidden:
            more = _more(language, hidden)
            rows.append("- " + more[0].upper() + more[1:])
        return "\n".join(rows)
    parts: list[str] = []
    previous: str | None = None
    for settlement, street, houses in groups:
        # A village's houses without a street always name the village: "; 18" would
        # read as more houses of the street before.
        if settlement != previous or not street:
            parts.append(_place(settlement, street, houses))
            previous = settlement
        else:
            parts.append(_street_text(street, houses))
    text = "; ".join(parts)
    if hidden:
        text = f"{text} {_more(language, hidden)}" if text else _more(language, hidden)
    return text


def format_addresses(
    addresses: Iterable[Address], language: str, *, hidden: int = 0, lines: bool = False
) -> str:
    """The address list as shown in a notice (duplicates dropped, sorted).

    Inline (SMS, bots): "Kranj, Labore 12; Prešernova ulica 5, 7, 9; Naklo,
    Glavna cesta 1" — each settlement is named once, then its streets, which
    saves characters on a paid channel. With `lines` (e-mail) each street is
    its own fully named "- " line. `hidden` > 0 appends the localized
    "and N more" with where to see the rest.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    return _format(_normalise(addresses), language, hidden, lines)


# --- rendering ----------------------------------------------------------------------

_SPACES: Final = str.maketrans({"\u202f": " ", "\u00a0": " "})


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def _aware(value: datetime, field: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{field} must be timezone-aware (UTC), got {value!r}")
    return value


@lru_cache(maxsize=256)
def _window(
    starts_at: datetime, ends_at: datetime, zone: ZoneInfo, locale: str, date_format: str
) -> tuple[str, str, str]:
    """(date, start, end) in local time; the end carries its own date if it is another day.

    Cached: a fan-out renders tens of thousands of texts for one window, and
    babel's formatting is most of each render.
    """
    start = starts_at.astimezone(zone)
    end = ends_at.astimezone(zone)

    def day(moment: datetime) -> str:
        return format_date(moment.date(), format=date_format, locale=locale).translate(_SPACES)

    def clock(moment: datetime) -> str:
        return format_time(moment, format="short", tzinfo=zone, locale=locale).translate(_SPACES)

    end_text = clock(end) if end.date() == start.date() else f"{day(end)} {clock(end)}"
    return day(start), clock(start), end_text


def local_window(
    starts_at: datetime,
    ends_at: datetime,
    timezone: str,
    language: str,
    date_format: str = "medium",
) -> tuple[str, str, str]:
    """(date, start, end) of a window as an e-mail notice writes it: "medium" dates
    for the public pages, "full" ones (with the weekday) for printed notices."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    start, end = _aware(starts_at, "starts_at"), _aware(ends_at, "ends_at")
    return _window(start, end, _zone(timezone), _LOCALES[language], date_format)


def local_date(day: date, language: str, *, short: bool) -> str:
    """A calendar date as a notice writes it: the fixed SMS pattern (`short`) or
    CLDR's "medium" (e-mail)."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    pattern = SMS_DATE_PATTERNS[language] if short else "medium"
    return format_date(day, format=pattern, locale=_LOCALES[language]).translate(_SPACES)


def local_moment(moment: datetime, timezone: str, language: str) -> str:
    """A moment as the public pages write it ("12 Mar 2025, 14:05"), in local time."""
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    local = _aware(moment, "moment").astimezone(_zone(timezone))
    date = format_date(local.date(), format="medium", locale=_LOCALES[language])
    clock = format_time(local, format="short", tzinfo=local.tzinfo, locale=_LOCALES[language])
    return f"{date} {clock}".translate(_SPACES)


def _values(ctx: NoticeContext, language: str, *, short: bool, extra_sep: str) -> dict[str, str]:
    """The placeholders of a notice but its addresses (a copy: callers add those)."""
    return dict(_context_values(ctx, language, short, extra_sep))


@lru_cache(maxsize=64)
def _context_values(
    ctx: NoticeContext, language: str, short: bool, extra_sep: str
) -> dict[str, str]:
    """Worked out once per notice and language: fan-out renders each for thousands."""
    zone = _zone(ctx.timezone)
    starts_at = _aware(ctx.starts_at, "starts_at")
    ends_at = _aware(ctx.ends_at, "ends_at")
    if ends_at <= starts_at:
        raise ValueError(f"ends_at {ends_at.isoformat()} is not after {starts_at.isoformat()}")
    locale = _LOCALES[language]
    date_format = SMS_DATE_PATTERNS[language] if short else "medium"
    date, start, end = _window(starts_at, ends_at, zone, locale, date_format)
    values = {"date": date, "start": start, "end": end, "prev_date": "", "prev_start": ""}
    values["prev_end"] = ""
    if ctx.previous_starts_at is not None and ctx.previous_ends_at is not None:
        prev = _window(
            _aware(ctx.previous_starts_at, "previous_starts_at"),
            _aware(ctx.previous_ends_at, "previous_ends_at"),
            zone,
            locale,
            date_format,
        )
        values["prev_date"], values["prev_start"], values["prev_end"] = prev
    elif ctx.kind == "amendment":
        raise ValueError("an amendment needs previous_starts_at and previous_ends_at")
    extra = " ".join(ctx.extra_text.split()) if short else ctx.extra_text.strip()
    reason = " ".join(ctx.reason.split()).rstrip(".")
    if not reason:
        raise ValueError("a notice needs a reason")
    values.update(
        reason=reason,
        extra=extra + extra_sep if extra else "",
        utility=" ".join(ctx.utility_name.split()),
        contact=" ".join(ctx.contact_phone.split()),
    )
    return values


def _check(language: str, channel: str, kind: str, max_sms_segments: int) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}; expected one of {', '.join(CHANNELS)}")
    if kind not in KINDS:
        raise ValueError(f"unknown notice kind {kind!r}; expected one of {', '.join(KINDS)}")
    if max_sms_segments < 1:
        raise ValueError(f"max_sms_segments must be at least 1, got {max_sms_segments}")


def render(
    ctx: NoticeContext,
    addresses: Sequence[Address],
    language: str,
    channel: str,
    *,
    max_sms_segments: int = 3,
    transliterate_sms: bool = False,
    template: str | None = None,
) -> RenderedNotice:
    """The notice for one subscriber on one channel, all their addresses in one text.

    SMS never exceeds `max_sms_segments` when anything fits: the full list
    if it fits, else the longest prefix of the sorted list that fits plus
    "and N more (list on the website or by phone)". Exception, by design:
    when not even one address plus that suffix fits (a very long reason or
    extra text), the shorter of "one address + and N more" and the full
    list is returned anyway, over the cap, because a notice without any
    address breaks the content rule; `sms_preview` reports it as `over_cap`.
    E-mail and bots are not capped but list at most `LIST_LIMIT` addresses.

    `transliterate_sms` rewrites SMS bodies to GSM-7 (a third of the
    segments for Slovene/Cyrillic text); the cap applies to the rewritten text.
    `template` replaces the built-in body template (after validation).
    """
    _check(language, channel, ctx.kind, max_sms_segments)
    if template is not None:
        missing = validate_template(template)
        if missing:
            raise ValueError(f"template lacks required placeholder(s): {', '.join(missing)}")
    listed = _normalise(addresses)
    total = len(listed)
    if not total:
        raise ValueError("a notice needs at least one address")

    if channel == "email":
        values = _values(ctx, language, short=False, extra_sep="\n\n")
        body_template = template or EMAIL_TEMPLATES[language, ctx.kind]
        subject = EMAIL_SUBJECTS[language, ctx.kind].format_map(values)
        shown = min(total, LIST_LIMIT)
        values["addresses"] = _format(listed[:shown], language, total - shown, lines=True)
        return RenderedNotice(subject, body_template.format_map(values), shown, total)

    short = _ShortText(ctx, listed, language, template, channel == "sms" and transliterate_sms)
    if channel != "sms":
        shown = min(total, LIST_LIMIT)
        return RenderedNotice(None, short.body(shown), shown, total)

    counted: dict[str, int] = {}

    def fits(text: str) -> bool:
        counted[text] = sms.analyse(text).segments
        return counted[text] <= max_sms_segments

    def sms_notice(body: str, shown: int) -> RenderedNotice:
        segments = counted[body] if body in counted else sms.analyse(body).segments
        return RenderedNotice(None, body, shown, total, segments)

    full = short.body(total)
    if fits(full):
        return sms_notice(full, total)
    best_shown, best = 1, short.body(1)
    if not fits(best):
        shortest, shown = short.shortest()
        return sms_notice(shortest, shown)
    # A longer prefix adds characters (a house number outweighs the digit or
    # plural ending "N more" may lose), except where a third consecutive house
    # turns "4, 5" into the shorter "4-6": so the search ends only after
    # MIN_RANGE - 1 misses in a row.
    misses = 0
    for shown in range(2, total):
        candidate = short.body(shown)
        if not fits(candidate):
            misses += 1
            if misses >= address_list.MIN_RANGE - 1:
                break
            continue
        misses = 0
        best_shown, best = shown, candidate
    return sms_notice(best, best_shown)


class _ShortText:
    """Builds the short-channel body for the first `shown` of a sorted address list."""

    def __init__(
        self,
        ctx: NoticeContext,
        listed: Sequence[Address],
        language: str,
        template: str | None,
        transliterate: bool,
    ) -> None:
        self._values = _values(ctx, language, short=True, extra_sep=" ")
        self._template = template or TEMPLATES[language, ctx.kind]
        self._listed = listed
        self._language = language
        self._transliterate = transliterate

    def body(self, shown: int) -> str:
        hidden = len(self._listed) - shown
        addresses = _format(self._listed[:shown], self._language, hidden, lines=False)
        text = self._template.format_map({**self._values, "addresses": addresses})
        if self._transliterate:
            text = sms.transliterate(text, self._language)
        return text

    def shortest(self) -> tuple[str, int]:
        """(body, addresses shown): the shorter of one address + "and N more" and the full list."""
        total = len(self._listed)
        one, full = self.body(1), self.body(total)
        return (full, total) if _size(full) <= _size(one) else (one, 1)


def _size(text: str) -> tuple[int, int]:
    info = sms.analyse(text)
    return info.segments, info.units


def min_sms_segments(
    ctx: NoticeContext,
    addresses: Sequence[Address],
    language: str,
    *,
    transliterate_sms: bool = False,
    template: str | None = None,
) -> int:
    """The fewest segments this subscriber's SMS can take, whatever the cap.

    A `max_sms_segments` below this cannot hold (the reason or extra text is
    too long): the preview warns, and `render` sends this shortest form.
    """
    _check(language, "sms", ctx.kind, 1)
    if template is not None and validate_template(template):
        raise ValueError("template lacks required placeholders")
    listed = _normalise(addresses)
    if not listed:
        raise ValueError("a notice needs at least one address")
    body, _ = _ShortText(ctx, listed, language, template, transliterate_sms).shortest()
    return sms.analyse(body).segments


# --- preview ------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsPreview:
    """One SMS as the preview shows it: text, size and whether the cap held."""

    body: str
    encoding: str
    characters: int
    segments: int
    addresses_shown: int
    addresses_total: int
    over_cap: bool


def sms_preview(
    ctx: NoticeContext,
    addresses: Sequence[Address],
    language: str,
    *,
    max_sms_segments: int = 3,
    transliterate_sms: bool = False,
) -> SmsPreview:
    """The SMS one subscriber would get, with its encoding and segment count."""
    notice = render(
        ctx,
        addresses,
        language,
        "sms",
        max_sms_segments=max_sms_segments,
        transliterate_sms=transliterate_sms,
    )
    info = sms.analyse(notice.body)
    return SmsPreview(
        body=notice.body,
        encoding=info.encoding,
        characters=info.characters,
        segments=info.segments,
        addresses_shown=notice.addresses_shown,
        addresses_total=notice.addresses_total,
        over_cap=info.segments > max_sms_segments,
    )


def worst_case_sms(
    ctx: NoticeContext,
    address_sets: Iterable[Sequence[Address]],
    language: str,
    *,
    max_sms_segments: int = 3,
    transliterate_sms: bool = False,
) -> SmsPreview:
    """The most expensive SMS among the given subscribers' address lists.

    The preview shows the worst case (design: "Message length"). The caller
    passes candidate lists — e.g. the subscribers with the most affected
    addresses plus a few ordinary ones; the worst is the one with the most
    segments, then the most characters. Raises ValueError for no candidates.
    """
    worst: SmsPreview | None = None
    for addresses in address_sets:
        preview = sms_preview(
            ctx,
            addresses,
            language,
            max_sms_segments=max_sms_segments,
            transliterate_sms=transliterate_sms,
        )
        if worst is None or (preview.segments, preview.characters) > (
            worst.segments,
            worst.characters,
        ):
            worst = preview
    if worst is None:
        raise ValueError("no address lists to preview")
    return worst
