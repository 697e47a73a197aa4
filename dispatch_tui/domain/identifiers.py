"""Parsers for the customer identifiers that planned-outage notices are keyed on.

Every parser takes text as typed by an operator or read from a utility's CSV export and
returns one canonical string, so that the same customer always maps to the same key.
Anything that cannot be made canonical raises :class:`InvalidIdentifier` with a short
message an operator can act on.

The importers call these once per CSV row, so each digit/EIC parser tries a precompiled
``fullmatch`` against the canonical form first and only falls back to the tolerant
normalisation (whitespace, dash look-alikes, case) when that fails.

Pure: no I/O and no project imports.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import email_validator
import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

__all__ = [
    "IdentifierScheme",
    "InvalidIdentifier",
    "eic_check_char",
    "eic_tail",
    "parse_bg_client_number",
    "parse_bg_metering_point",
    "parse_eic",
    "parse_email",
    "parse_phone",
    "parse_si_account",
    "parse_si_metering_point",
    "parse_ua_account",
    "scheme_for",
]


class InvalidIdentifier(ValueError):
    """Raised with a short human message naming what is wrong.

    E.g. "metering point id '6-12345' must be a digit, a dash and 6 digits (like 6-123456)".
    A ``ValueError`` subclass so generic validation code can still catch it.
    """


# --- shared helpers -------------------------------------------------------------------

_WHITESPACE: Final = re.compile(r"\s+")

# Dash look-alikes that word processors, PDFs and spreadsheets substitute for '-'.
_DASHES: Final = str.maketrans(
    dict.fromkeys(
        "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe58\ufe63\uff0d",
        "-",
    )
)


def _show(text: str) -> str:
    """Quote user input for a message, cut short so a pasted paragraph stays readable."""
    return repr(text if len(text) <= 40 else text[:39] + "…")


def _digits(text: str, canonical: re.Pattern[str], what: str, rule: str, example: str) -> str:
    """Slow path for all-digit identifiers: drop whitespace anywhere, then re-check."""
    compact = _WHITESPACE.sub("", text)
    if canonical.fullmatch(compact) is not None:
        return compact
    if not compact:
        raise InvalidIdentifier(f"{what} is empty; it must be {rule} (like {example})")
    found = ""
    if compact.isascii() and compact.isdigit():
        found = f", found {len(compact)} digits"
    raise InvalidIdentifier(f"{what} {_show(text)} must be {rule} (like {example}){found}")


# --- Slovenia -------------------------------------------------------------------------

_SI_MP: Final = re.compile(r"[1-9]-[0-9]{6}")
_SI_MP_LOOSE: Final = re.compile(r"\s*([0-9])\s*-?\s*([0-9]{6})\s*")
_SI_MP_RULE: Final = "must be a digit, a dash and 6 digits (like 6-123456)"


def parse_si_metering_point(text: str) -> str:
    """Slovene metering point id as printed on Elektro Gorenjska bills, e.g. "6-123456".

    Tolerates surrounding whitespace, spaces around the dash, a missing dash and dash
    look-alikes (en/em dash, minus sign) because ids are retyped from paper and PDFs.
    """
    if _SI_MP.fullmatch(text) is not None:
        return text
    m = _SI_MP_LOOSE.fullmatch(text.translate(_DASHES))
    if m is None:
        if not text.strip():
            raise InvalidIdentifier(f"metering point id is empty; it {_SI_MP_RULE}")
        raise InvalidIdentifier(f"metering point id {_show(text)} {_SI_MP_RULE}")
    if m[1] == "0":
        raise InvalidIdentifier(
            f"metering point id {_show(text)} cannot start with 0 (like 6-123456)"
        )
    return f"{m[1]}-{m[2]}"


_SI_ACCOUNT: Final = re.compile(r"[0-9]{5,10}")


def parse_si_account(text: str) -> str:
    """Slovene customer number: 5 to 10 digits; whitespace anywhere is ignored."""
    if _SI_ACCOUNT.fullmatch(text) is not None:
        return text
    return _digits(text, _SI_ACCOUNT, "customer number", "5 to 10 digits", "2101234")


# --- Ukraine --------------------------------------------------------------------------

_UA_ACCOUNT: Final = re.compile(r"[0-9]{9}")


def parse_ua_account(text: str) -> str:
    """Ukrainian 9-digit personal account (особовий рахунок), e.g. "123 456 789"."""
    if _UA_ACCOUNT.fullmatch(text) is not None:
        return text
    return _digits(text, _UA_ACCOUNT, "personal account", "9 digits", "123456789")


# --- Bulgaria -------------------------------------------------------------------------

_BG_CLIENT: Final = re.compile(r"[0-9]{12}")
_BG_MP: Final = re.compile(r"[0-9]{7}")


def parse_bg_client_number(text: str) -> str:
    """Bulgarian 12-digit client number (клиентски номер); whitespace is ignored."""
    if _BG_CLIENT.fullmatch(text) is not None:
        return text
    return _digits(text, _BG_CLIENT, "client number", "12 digits", "300012345678")


def parse_bg_metering_point(text: str) -> str:
    """Bulgarian metering point id (ИТН): 7 digits; whitespace is ignored."""
    if _BG_MP.fullmatch(text) is not None:
        return text
    return _digits(text, _BG_MP, "metering point id (ITN)", "7 digits", "1234567")


# --- ENTSO-E Energy Identification Code ----------------------------------------------

_EIC_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
_EIC_VALUE: Final = {c: i for i, c in enumerate(_EIC_ALPHABET)}
# Per-position lookup of weight * value: weights 16 (1st character) down to 2 (15th),
# plus weight 1 for the check character itself (see _eic_check_value).
_EIC_TERMS: Final = tuple(
    {c: weight * value for c, value in _EIC_VALUE.items()} for weight in (*range(16, 1, -1), 1)
)
_EIC: Final = re.compile(r"[0-9A-Z-]{15}[0-9A-Z]")
_EIC_BODY: Final = re.compile(r"[0-9A-Z-]{15}")


def _eic_sum(code: str) -> int:
    """Weighted sum over up to 16 canonical characters (table lookups keep it ~1 µs)."""
    return sum(map(dict.__getitem__, _EIC_TERMS, code))


def _eic_check_value(first15: str) -> int:
    """ENTSO-E check value 0..36 for 15 canonical characters.

    The manual's rule is check = 36 - ((sum - 1) mod 37), i.e. check = -sum mod 37, so a
    whole code is valid exactly when the sum including the check value (weight 1) is a
    multiple of 37; the fast path in parse_eic relies on that.
    """
    return 36 - (_eic_sum(first15[:15]) - 1) % 37


def eic_check_char(first15: str) -> str:
    """ENTSO-E EIC check character for the first 15 characters (case-insensitive).

    A body whose check value is 36 ('-') can never be a valid EIC: '-' is not allowed as
    check character (python-stdnum's ``eu.eic`` and E-Group-ICT's EICjs, which follows the
    EIC Reference Manual, both reject it), so this raises rather than hand out such a code.
    """
    body = first15.upper() if first15.isascii() else first15
    if _EIC_BODY.fullmatch(body) is None:
        raise InvalidIdentifier(
            f"EIC body {_show(first15)} must be 15 characters from A-Z, 0-9 and '-'"
        )
    check = _EIC_ALPHABET[_eic_check_value(body)]
    if check == "-":
        raise InvalidIdentifier(
            f"no EIC can start with {body!r}: its check character would be '-', "
            "which ENTSO-E does not allow"
        )
    return check


def parse_eic(text: str) -> str:
    """16-character ENTSO-E Energy Identification Code, e.g. Ukrainian "62Z…" points.

    Input is case-insensitive and may carry whitespace or dash look-alikes; the result is
    uppercase. The check character is verified so a mistyped code is caught at import.
    """
    if _EIC.fullmatch(text) is not None and _eic_sum(text) % 37 == 0:
        return text
    return _parse_eic_slow(text)


def _parse_eic_slow(text: str) -> str:
    """Normalise, then explain precisely why the code is not a valid EIC."""
    code = _WHITESPACE.sub("", text.translate(_DASHES))
    if not code:
        raise InvalidIdentifier("EIC is empty; it must be 16 characters (like 10YSI-ELES-----O)")
    bad = sorted({c for c in code if not (c.isascii() and c.upper() in _EIC_VALUE)})
    if bad:
        shown = ", ".join(repr(c) for c in bad[:5])
        raise InvalidIdentifier(
            f"EIC {_show(text)} may contain only A-Z, 0-9 and '-', found {shown}"
        )
    code = code.upper()
    if len(code) != 16:
        raise InvalidIdentifier(
            f"EIC {_show(text)} must be 16 characters (like 10YSI-ELES-----O), found {len(code)}"
        )
    expected = _EIC_ALPHABET[_eic_check_value(code[:15])]
    if expected == "-":
        raise InvalidIdentifier(
            f"EIC {_show(text)} is not valid: no EIC can start with {code[:15]!r} "
            "(its check character would be '-')"
        )
    if code[15] != expected:
        raise InvalidIdentifier(
            f"EIC {_show(text)} has the wrong check character: expected {expected!r}, "
            f"found {code[15]!r} (probably a typo)"
        )
    return code


def eic_tail(eic: str) -> str:
    """Last 5 characters of a (validated) EIC: what customers quote to verify themselves."""
    return parse_eic(eic)[-5:]


# --- phone and email ------------------------------------------------------------------

_SMS_OK: Final = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})

_PHONE_KIND: Final = {
    PhoneNumberType.FIXED_LINE: "a fixed-line",
    PhoneNumberType.TOLL_FREE: "a toll-free",
    PhoneNumberType.PREMIUM_RATE: "a premium-rate",
    PhoneNumberType.SHARED_COST: "a shared-cost",
    PhoneNumberType.VOIP: "a VoIP",
    PhoneNumberType.PERSONAL_NUMBER: "a personal",
    PhoneNumberType.PAGER: "a pager",
    PhoneNumberType.UAN: "a company (UAN)",
    PhoneNumberType.VOICEMAIL: "a voicemail",
}

_PARSE_REASON: Final = {
    NumberParseException.INVALID_COUNTRY_CODE: "has an unknown country code",
    NumberParseException.NOT_A_NUMBER: "is not a phone number",
    NumberParseException.TOO_SHORT_AFTER_IDD: "is too short",
    NumberParseException.TOO_SHORT_NSN: "is too short",
    NumberParseException.TOO_LONG: "is too long",
}


def parse_phone(text: str, region: str, *, mobile_only: bool = False) -> str:
    """Phone number in E.164 ("+38641123456"), read as dialled from ``region`` ("SI" …).

    ``mobile_only`` refuses numbers that cannot receive SMS (fixed lines etc.), so the
    mistake surfaces when the contact is entered rather than when a notice bounces.
    Extensions are refused because E.164 cannot carry them.
    """
    default_region = region.strip().upper()
    if default_region not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidIdentifier(
            f"unknown phone region {region!r}; use an ISO country code such as SI, UA or BG"
        )
    cleaned = text.strip()
    if not cleaned:
        raise InvalidIdentifier("phone number is empty")
    try:
        number = phonenumbers.parse(cleaned, default_region)
    except NumberParseException as exc:
        reason = _PARSE_REASON.get(exc.error_type, "is not a phone number")
        raise InvalidIdentifier(f"phone number {_show(text)} {reason}") from None
    if not phonenumbers.is_valid_number(number):
        where = phonenumbers.region_code_for_country_code(number.country_code or 0)
        suffix = f" for {where}" if where != phonenumbers.UNKNOWN_REGION else ""
        raise InvalidIdentifier(f"phone number {_show(text)} is not a valid number{suffix}")
    if number.extension:
        raise InvalidIdentifier(
            f"phone number {_show(text)} has an extension; give the direct number"
        )
    if mobile_only:
        kind = phonenumbers.number_type(number)
        if kind not in _SMS_OK:
            label = _PHONE_KIND.get(kind, "not a mobile")
            noun = "" if label == "not a mobile" else " number"
            raise InvalidIdentifier(
                f"phone number {_show(text)} is {label}{noun}; SMS needs a mobile number"
            )
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def parse_email(text: str) -> str:
    """Email address in email_validator's normalised form (domain lowercased, NFC).

    No DNS lookups: parsing must stay pure and fast; deliverability shows up at send time.
    """
    cleaned = text.strip()
    if not cleaned:
        raise InvalidIdentifier("email address is empty")
    try:
        result = email_validator.validate_email(cleaned, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise InvalidIdentifier(f"email address {_show(text)} is not valid: {exc}") from None
    return result.normalized


# --- per-country schemes --------------------------------------------------------------


@dataclass(frozen=True)
class IdentifierScheme:
    """Which parsers and examples apply to one country's distribution customers."""

    country: str
    metering_point: Callable[[str], str]
    account: Callable[[str], str]
    metering_point_example: str
    account_example: str


_SCHEMES: Final = {
    "SI": IdentifierScheme("SI", parse_si_metering_point, parse_si_account, "6-123456", "2101234"),
    # In seed 001 the Ukrainian personal account identifies one supply address, so it
    # doubles as the metering point key.
    "UA": IdentifierScheme("UA", parse_ua_account, parse_ua_account, "123456789", "123456789"),
    "BG": IdentifierScheme(
        "BG", parse_bg_metering_point, parse_bg_client_number, "1234567", "300012345678"
    ),
}


def scheme_for(country: str) -> IdentifierScheme:
    """Identifier scheme for an ISO country code ("SI", "UA", "BG"; case-insensitive)."""
    scheme = _SCHEMES.get(country.strip().upper())
    if scheme is None:
        known = ", ".join(sorted(_SCHEMES))
        raise InvalidIdentifier(f"no identifier scheme for country {country!r}; known: {known}")
    return scheme
