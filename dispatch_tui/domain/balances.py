"""Reading a billing system's balances and saying them back to a customer.

Billing exports write amounts with a dot or a comma ("123.45", "123,45"),
never with both or with grouping; anything else ("12,3,4", "1.234,56",
three decimals) is refused rather than guessed, since a misread amount is
a wrong bill. Amounts are kept as integers in the currency's minor unit
(stotinki, kopiyky, cents), so no backend rounds them.

Texts are formatted with babel in the subscriber's language (amounts with
the currency as the locale writes it, dates with the SMS patterns of the
notices). Pure: no I/O.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Final
from zoneinfo import ZoneInfo

from babel.dates import format_date
from babel.numbers import format_currency, get_currency_precision, list_currencies

from dispatch_tui.domain.templates import SMS_DATE_PATTERNS

__all__ = [
    "BalanceView",
    "BillWording",
    "bill_text",
    "format_amount",
    "parse_amount",
    "parse_currency",
    "parse_day",
    "wording",
]

LOCALES: Final = {"sl": "sl_SI", "uk": "uk_UA", "bg": "bg_BG", "en": "en_GB"}
_AMOUNT: Final = re.compile(r"(-?)([0-9]+)(?:[.,]([0-9]+))?")
_ISO_DAY: Final = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_DOTTED_DAY: Final = re.compile(r"([0-9]{1,2})\.\s?([0-9]{1,2})\.\s?([0-9]{4})")
LIMIT_MINOR: Final = 100_000_000_000
"""The largest amount (in minor units) the balance table's check allows, either sign."""


@cache
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


@lru_cache(maxsize=256)
def parse_currency(text: str) -> str:
    """An ISO 4217 code as billing writes it ("bgn" too); ValueError explains."""
    code = text.strip().upper()
    if len(code) != 3 or not code.isascii() or not code.isalpha():
        raise ValueError(f"currency '{text.strip()}' must be a 3-letter ISO 4217 code like EUR")
    if code not in _currencies():
        raise ValueError(f"currency '{code}' is not an ISO 4217 code (like EUR, BGN, UAH)")
    return code


@cache
def precision(currency: str) -> int:
    """Decimals of the currency's minor unit (2 for EUR, BGN, UAH; 0 for JPY)."""
    return int(get_currency_precision(currency))


def parse_amount(text: str, currency: str = "EUR") -> int:
    """ "123.45" or "123,45" (a leading minus is a credit) in minor units of
    `currency`; ValueError explains what is wrong."""
    typed = text.strip()
    match = _AMOUNT.fullmatch(typed)
    if match is None:
        raise ValueError(
            f"amount '{typed}' must be a number like 123.45 or 123,45 "
            "(no thousands separators, one decimal mark)"
        )
    sign, whole, fraction = match.groups()
    places = precision(currency)
    fraction = fraction or ""
    if len(fraction) > places:
        raise ValueError(f"amount '{typed}' has more than {places} decimals for {currency}")
    scale: int = 10**places
    minor = int(whole) * scale + int(fraction.ljust(places, "0") or "0")
    if minor > LIMIT_MINOR:
        raise ValueError(f"amount '{typed}' is too large")
    return -minor if sign else minor


def parse_day(text: str) -> date:
    """A date as billing exports write it: 2026-12-15 or 15.12.2026."""
    if len(text) == 10 and text[4] == "-" and text[7] == "-":
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text)
    typed = text.strip()
    iso = _ISO_DAY.fullmatch(typed)
    dotted = _DOTTED_DAY.fullmatch(typed)
    if iso:
        year, month, day = map(int, iso.groups())
    elif dotted:
        day, month, year = map(int, dotted.groups())
    else:
        raise ValueError(f"date '{typed}' must be like 2026-12-15 or 15.12.2026")
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise ValueError(f"date '{typed}' does not exist ({exc})") from None


def format_amount(amount_minor: int, currency: str, language: str) -> str:
    """ "123,45 лв." as the subscriber's locale writes it; English, read by people of
    any country, names the currency by its code ("850.50 UAH", not "UAH850.50")."""
    value = Decimal(amount_minor).scaleb(-precision(currency))
    locale = LOCALES.get(language, "en_GB")
    pattern = "#,##0.00 ¤¤" if locale == "en_GB" else None
    text = format_currency(value, currency, format=pattern, locale=locale)
    return str(text).replace("\u00a0", " ").replace("\u202f", " ")


def _day(value: date, language: str) -> str:
    pattern = SMS_DATE_PATTERNS.get(language, SMS_DATE_PATTERNS["en"])
    text = format_date(value, format=pattern, locale=LOCALES.get(language, "en_GB"))
    return str(text).replace("\u00a0", " ").replace("\u202f", " ")


@dataclass(frozen=True)
class BalanceView:
    """One account's balance as a snapshot said it."""

    account: str
    amount_minor: int
    currency: str
    due_date: date
    as_of: datetime
    timezone: str


@dataclass(frozen=True)
class BillWording:
    answer: str
    """{account}, {amount}, {due}, {as_of}."""
    paid: str
    """Nothing due (zero or a credit): {account}, {amount}, {as_of}."""
    unverified: str
    """The phone is not verified for {account}: how to verify ({phone}: the utility's)."""
    no_balance: str
    which: str
    """A keyword without a number, from a phone verified for several accounts (or none)."""
    registered: str
    """ "<keyword> START": bill information and payment reminders are on."""
    unregistered: str
    """ "<keyword> STOP": they are off (outage notices stay)."""
    register_unverified: str
    """The phone is on no account's records: {phone}, the utility's number."""


_WORDING: Final[dict[str, BillWording]] = {
    "bg": BillWording(
        answer="{account}: дължите {amount} до {due} (към {as_of})",
        paid="{account}: нищо не дължите ({amount}, към {as_of})",
        unverified=(
            "Сумата се съобщава само на телефон, записан към {account}. Обадете се: {phone}."
        ),
        no_balance="Още няма данни за сметката на {account}.",
        which="Изпратете СМЕТКА и клиентския номер, напр. СМЕТКА 300012345678.",
        registered="Ще получавате информация за сметката и напомняния за плащане.",
        unregistered="Информацията за сметката и напомнянията са спрени.",
        register_unverified="Телефонът не е записан към клиентски номер. Обадете се: {phone}.",
    ),
    "sl": BillWording(
        answer="{account}: za plačilo {amount} do {due} (stanje {as_of})",
        paid="{account}: nič za plačilo ({amount}, stanje {as_of})",
        unverified="Znesek sporočimo le na telefon, vpisan pri {account}. Pokličite {phone}.",
        no_balance="Za {account} še ni podatkov o računu.",
        which="Pošljite RAČUN in številko odjemalca, npr. RAČUN 2101234.",
        registered="Prejemali boste obvestila o računu in opomnike za plačilo.",
        unregistered="Obvestila o računu in opomniki so izklopljeni.",
        register_unverified="Telefon ni vpisan pri nobenem odjemalcu. Pokličite {phone}.",
    ),
    "uk": BillWording(
        answer="{account}: до сплати {amount} до {due} (на {as_of})",
        paid="{account}: боргу немає ({amount}, на {as_of})",
        unverified=(
            "Суму повідомляємо лише на підтверджений телефон. "
            "Надішліть: {account} <номер лічильника> СТАРТ"
        ),
        no_balance="Для {account} ще немає даних про рахунок.",
        which="Надішліть РАХУНОК і номер рахунку, напр. РАХУНОК 123456789.",
        registered="Ви отримуватимете інформацію про рахунок і нагадування про оплату.",
        unregistered="Інформацію про рахунок і нагадування вимкнено.",
        register_unverified="Телефон не підтверджено для жодного рахунку. Телефонуйте: {phone}.",
    ),
    "en": BillWording(
        answer="Account {account}: {amount} due by {due} (as of {as_of}).",
        paid="Account {account}: nothing due ({amount}, as of {as_of}).",
        unverified="We give amounts only to a phone on record for {account}. Please call {phone}.",
        no_balance="There is no bill information for {account} yet.",
        which="Send BILL and your customer number, e.g. BILL 300012345678.",
        registered="You will get bill information and payment reminders.",
        unregistered="Bill information and reminders are off.",
        register_unverified="This phone is on no account's records. Please call {phone}.",
    ),
}


def wording(language: str | None) -> BillWording:
    return _WORDING.get(language or "en", _WORDING["en"])


def bill_text(view: BalanceView, language: str) -> str:
    """The answer to a bill check, in `language`."""
    texts = wording(language)
    as_of = _day(view.as_of.astimezone(ZoneInfo(view.timezone)).date(), language)
    amount = format_amount(view.amount_minor, view.currency, language)
    template = texts.answer if view.amount_minor > 0 else texts.paid
    return template.format(
        account=view.account, amount=amount, due=_day(view.due_date, language), as_of=as_of
    )
