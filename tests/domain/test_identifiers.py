"""Tests for dispatch_tui.domain.identifiers: examples plus Hypothesis properties.

The properties pin down the contract the importers rely on: canonical values pass
through unchanged, noisy spellings collapse to the canonical one, and no input ever
escapes as anything but InvalidIdentifier.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from dispatch_tui.domain.identifiers import (
    IdentifierScheme,
    InvalidIdentifier,
    eic_check_char,
    eic_tail,
    parse_bg_client_number,
    parse_bg_metering_point,
    parse_eic,
    parse_email,
    parse_phone,
    parse_si_account,
    parse_si_metering_point,
    parse_ua_account,
    scheme_for,
)

Parser = Callable[[str], str]

DIGITS = "0123456789"
EIC_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-"
DASH_VARIANTS = ["-", "\u2010", "\u2011", "\u2012", "\u2013", "\u2014", "\u2212", "\uff0d"]
SPACES = ["", " ", "  ", "\t", "\u00a0", "\u202f"]

spaces = st.sampled_from(SPACES)
any_text = st.text(max_size=60)
# Inputs near the real formats find more interesting failures than arbitrary Unicode.
near_text = st.text(alphabet=DIGITS + " -\u2013\u2212\u00a0\tabcxyzXYZ", max_size=20)


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=DIGITS, min_size=n, max_size=n)


def reference_check_char(first15: str) -> str:
    """Straight transcription of the ENTSO-E rule, independent of the implementation."""
    total = sum((16 - i) * EIC_ALPHABET.index(c) for i, c in enumerate(first15))
    return EIC_ALPHABET[36 - ((total - 1) % 37)]


@st.composite
def sprinkled(draw: st.DrawFn, value: str) -> str:
    """``value`` with random whitespace before, between and after its characters."""
    parts = [draw(spaces)]
    for ch in value:
        parts.extend((ch, draw(spaces)))
    return "".join(parts)


def test_invalid_identifier_is_a_value_error() -> None:
    assert issubclass(InvalidIdentifier, ValueError)


# --- Slovene metering point -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("6-123456", "6-123456"),
        ("3-004512", "3-004512"),
        ("  6-123456\n", "6-123456"),
        ("6 - 123456", "6-123456"),
        ("6123456", "6-123456"),
        ("6 123456", "6-123456"),
        ("6–123456", "6-123456"),  # en dash from a Word document
        ("6—123456", "6-123456"),  # em dash
        ("6−123456", "6-123456"),  # minus sign
        ("\u00a06\u00a0-\u00a0123456\u00a0", "6-123456"),  # no-break spaces from Excel
    ],
)
def test_si_metering_point_examples(text: str, expected: str) -> None:
    assert parse_si_metering_point(text) == expected


def test_si_metering_point_message_names_the_problem() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_si_metering_point("6-12345")
    assert str(info.value) == (
        "metering point id '6-12345' must be a digit, a dash and 6 digits (like 6-123456)"
    )


@pytest.mark.parametrize(
    "text",
    ["", "   ", "6-12345", "6-1234567", "61234567", "0-123456", "A-123456", "6--123456",
     "61-23456", "6-12 3456", "6/123456", "6_123456", "6-12345a", "6-١٢٣٤٥٦"],
)  # fmt: skip
def test_si_metering_point_rejects(text: str) -> None:
    with pytest.raises(InvalidIdentifier):
        parse_si_metering_point(text)


def test_si_metering_point_leading_zero_message() -> None:
    with pytest.raises(InvalidIdentifier, match="cannot start with 0"):
        parse_si_metering_point("0-123456")


@given(st.from_regex(r"[1-9]-[0-9]{6}", fullmatch=True))
def test_si_metering_point_canonical_round_trips(value: str) -> None:
    assert parse_si_metering_point(value) == value


@given(
    st.sampled_from("123456789"),
    digits(6),
    spaces,
    st.sampled_from([*DASH_VARIANTS, ""]),
    spaces,
    spaces,
    spaces,
)
def test_si_metering_point_noise_collapses(
    first: str, rest: str, before_dash: str, dash: str, after_dash: str, lead: str, trail: str
) -> None:
    noisy = f"{lead}{first}{before_dash}{dash}{after_dash}{rest}{trail}"
    assert parse_si_metering_point(noisy) == f"{first}-{rest}"


@given(digits(6), st.sampled_from(DASH_VARIANTS))
def test_si_metering_point_never_starts_with_zero(rest: str, dash: str) -> None:
    with pytest.raises(InvalidIdentifier):
        parse_si_metering_point(f"0{dash}{rest}")


@given(st.one_of(any_text, near_text))
def test_si_metering_point_random_text_only_raises_invalid_identifier(text: str) -> None:
    try:
        result = parse_si_metering_point(text)
    except InvalidIdentifier:
        return
    assert parse_si_metering_point(result) == result
    assert len(result) == 8 and result[0] in "123456789" and result[1] == "-"


# --- all-digit identifiers ------------------------------------------------------------

DIGIT_PARSERS: list[tuple[Parser, int, int]] = [
    (parse_ua_account, 9, 9),
    (parse_bg_client_number, 12, 12),
    (parse_bg_metering_point, 7, 7),
    (parse_si_account, 5, 10),
]
digit_parser_ids = [p.__name__ for p, _, _ in DIGIT_PARSERS]
digit_parsers = pytest.mark.parametrize(
    ("parse", "shortest", "longest"), DIGIT_PARSERS, ids=digit_parser_ids
)


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (parse_ua_account, "231456789", "231456789"),
        (parse_ua_account, "231 456 789", "231456789"),
        (parse_ua_account, " 031456789\t", "031456789"),
        (parse_bg_client_number, "300012345678", "300012345678"),
        (parse_bg_client_number, "3000 1234 5678", "300012345678"),
        (parse_bg_client_number, "300\u00a0012\u00a0345\u00a0678", "300012345678"),
        (parse_bg_metering_point, "1234567", "1234567"),
        (parse_bg_metering_point, " 2 501 133 ", "2501133"),
        (parse_si_account, "2101234", "2101234"),
        (parse_si_account, "12345", "12345"),
        (parse_si_account, "1234567890", "1234567890"),
        (parse_si_account, "210 1234", "2101234"),
    ],
)
def test_digit_identifier_examples(parse: Parser, text: str, expected: str) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("parse", "text", "fragment"),
    [
        (parse_ua_account, "12345678", "must be 9 digits (like 123456789), found 8 digits"),
        (parse_ua_account, "1234567890", "found 10 digits"),
        (parse_ua_account, "12345678O", "personal account '12345678O' must be 9 digits"),
        (parse_ua_account, "123-456-789", "must be 9 digits"),
        (parse_ua_account, "", "personal account is empty"),
        (parse_bg_client_number, "30001234567", "client number '30001234567' must be 12 digits"),
        (parse_bg_metering_point, "123456", "metering point id (ITN) '123456' must be 7 digits"),
        (parse_si_account, "1234", "must be 5 to 10 digits"),
        (parse_si_account, "12345678901", "found 11 digits"),
        (parse_si_account, "١٢٣٤٥٦", "customer number"),  # Arabic-Indic digits are not 0-9
    ],
)
def test_digit_identifier_rejects(parse: Parser, text: str, fragment: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse(text)
    assert fragment in str(info.value)


@digit_parsers
@given(data=st.data())
def test_digit_identifier_canonical_round_trips(
    parse: Parser, shortest: int, longest: int, data: st.DataObject
) -> None:
    value = data.draw(st.text(alphabet=DIGITS, min_size=shortest, max_size=longest))
    assert parse(value) == value


@digit_parsers
@given(data=st.data())
def test_digit_identifier_whitespace_collapses(
    parse: Parser, shortest: int, longest: int, data: st.DataObject
) -> None:
    value = data.draw(st.text(alphabet=DIGITS, min_size=shortest, max_size=longest))
    assert parse(data.draw(sprinkled(value))) == value


@digit_parsers
@given(data=st.data())
def test_digit_identifier_wrong_length_rejected(
    parse: Parser, shortest: int, longest: int, data: st.DataObject
) -> None:
    size = data.draw(st.integers(0, longest + 5).filter(lambda n: not shortest <= n <= longest))
    value = data.draw(st.text(alphabet=DIGITS, min_size=size, max_size=size))
    with pytest.raises(InvalidIdentifier):
        parse(value)


@digit_parsers
@given(text=st.one_of(any_text, near_text))
def test_digit_identifier_random_text_only_raises_invalid_identifier(
    parse: Parser, shortest: int, longest: int, text: str
) -> None:
    try:
        result = parse(text)
    except InvalidIdentifier:
        return
    assert result.isascii() and result.isdigit()
    assert shortest <= len(result) <= longest
    assert parse(result) == result


# --- ENTSO-E EIC ----------------------------------------------------------------------

# Published ENTSO-E codes (Transparency Platform area / party codes).
REAL_EICS = [
    "10YSI-ELES-----O",  # Slovenia, ELES control area
    "10YCA-BULGARIA-R",  # Bulgaria, ESO control area
    "10Y1001C--00003F",  # Ukraine, BEI (Burshtyn energy island)
    "10Y1001C--000182",  # Ukraine, IPS
    "10YUA-WEPS-----0",  # Ukraine, WEPS
    "10YHR-HEP------M",  # Croatia
    "10YCS-SERBIATSOV",  # Serbia
    "22XWATTPLUS----G",  # party code, python-stdnum's doctest example
]
EIC_BODY_WITH_DASH_CHECK = "23X--130302DLGW"  # python-stdnum: "check digit cannot be minus"
# Ukrainian metering-point style code (62 = Ukrenergo LIO, Z = metering point); synthetic.
UA_METERING_EIC = "62Z987654321012M"

eic_bodies = st.text(alphabet=EIC_ALPHABET, min_size=15, max_size=15)


@st.composite
def valid_eics(draw: st.DrawFn) -> str:
    body = draw(eic_bodies)
    check = reference_check_char(body)
    assume(check != "-")
    return body + check


@pytest.mark.parametrize("code", [*REAL_EICS, UA_METERING_EIC])
def test_real_eics_validate(code: str) -> None:
    assert reference_check_char(code[:15]) == code[15]
    assert eic_check_char(code[:15]) == code[15]
    assert eic_check_char(code[:15].lower()) == code[15]
    assert parse_eic(code) == code
    assert parse_eic(code.lower()) == code
    assert parse_eic(f"  {code.lower()}\n") == code


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10ysi-eles-----o", "10YSI-ELES-----O"),
        ("10YSI–ELES–––––O", "10YSI-ELES-----O"),  # en dashes from a PDF
        ("62Z 9876 5432 1012 M", UA_METERING_EIC),
        ("10Yca-Bulgaria-r", "10YCA-BULGARIA-R"),
    ],
)
def test_eic_tolerant_examples(text: str, expected: str) -> None:
    assert parse_eic(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("10YSI-ELES-----X", "expected 'O', found 'X'"),
        ("10ysi-eles-----x", "expected 'O', found 'X'"),
        ("10YSI-ELES------", "expected 'O', found '-'"),
        ("10YSI-ELES-----", "must be 16 characters"),
        ("10YSI-ELES-----OO", "found 17"),
        ("10YSI_ELES-----O", "found '_'"),
        ("10YSİ-ELES-----O", "found 'İ'"),  # dotted capital I is not ASCII
        ("", "EIC is empty"),
        (EIC_BODY_WITH_DASH_CHECK + "-", "check character would be '-'"),
        (EIC_BODY_WITH_DASH_CHECK + "Z", "check character would be '-'"),
    ],
)
def test_eic_rejects(text: str, fragment: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_eic(text)
    assert fragment in str(info.value)


def test_eic_check_char_refuses_dash_result() -> None:
    assert reference_check_char(EIC_BODY_WITH_DASH_CHECK) == "-"
    with pytest.raises(InvalidIdentifier, match="would be '-'"):
        eic_check_char(EIC_BODY_WITH_DASH_CHECK)


@pytest.mark.parametrize(
    "body", ["", "10YSI-ELES----", "10YSI-ELES-----O", "10YSI ELES-----", "é" * 15]
)
def test_eic_check_char_rejects_malformed_body(body: str) -> None:
    with pytest.raises(InvalidIdentifier):
        eic_check_char(body)


@given(eic_bodies)
def test_eic_check_char_matches_reference(body: str) -> None:
    expected = reference_check_char(body)
    if expected == "-":
        with pytest.raises(InvalidIdentifier):
            eic_check_char(body)
    else:
        assert eic_check_char(body) == expected
        assert eic_check_char(body.lower()) == expected


@given(eic_bodies)
def test_eic_body_plus_computed_check_parses(body: str) -> None:
    try:
        check = eic_check_char(body)
    except InvalidIdentifier:
        assume(False)
        raise
    assert parse_eic(body + check) == body + check


@given(valid_eics(), st.sampled_from(EIC_ALPHABET))
def test_eic_any_other_check_char_is_rejected(code: str, wrong: str) -> None:
    assume(wrong != code[15])
    with pytest.raises(InvalidIdentifier):
        parse_eic(code[:15] + wrong)


@given(valid_eics(), st.integers(0, 14), st.sampled_from(EIC_ALPHABET))
def test_eic_any_single_substitution_is_rejected(code: str, index: int, other: str) -> None:
    """Weights 1..16 are coprime to 37, so every single-character typo is caught."""
    assume(other != code[index])
    with pytest.raises(InvalidIdentifier):
        parse_eic(code[:index] + other + code[index + 1 :])


@given(valid_eics(), st.integers(0, 14))
def test_eic_adjacent_transposition_is_rejected(code: str, index: int) -> None:
    assume(code[index] != code[index + 1])
    swapped = code[:index] + code[index + 1] + code[index] + code[index + 2 :]
    with pytest.raises(InvalidIdentifier):
        parse_eic(swapped)


@st.composite
def noisy_eic(draw: st.DrawFn, code: str) -> str:
    """Random case, dash look-alikes and whitespace around a valid EIC."""
    chars = []
    for ch in code:
        if ch == "-":
            chars.append(draw(st.sampled_from(DASH_VARIANTS)))
        elif ch.isalpha() and draw(st.booleans()):
            chars.append(ch.lower())
        else:
            chars.append(ch)
    return draw(spaces) + "".join(chars) + draw(spaces)


@given(st.data(), valid_eics())
def test_eic_noise_collapses(data: st.DataObject, code: str) -> None:
    noisy = data.draw(noisy_eic(code))
    assert parse_eic(noisy) == code
    assert eic_tail(noisy) == code[-5:]


@given(st.one_of(any_text, st.text(alphabet=EIC_ALPHABET + "abcz -–", max_size=20)))
def test_eic_random_text_only_raises_invalid_identifier(text: str) -> None:
    try:
        result = parse_eic(text)
    except InvalidIdentifier:
        return
    assert re.fullmatch(r"[0-9A-Z-]{15}[0-9A-Z]", result)
    assert reference_check_char(result[:15]) == result[15]


@given(valid_eics())
def test_eic_canonical_round_trips(code: str) -> None:
    assert parse_eic(code) == code


@pytest.mark.parametrize(
    ("code", "tail"),
    [("10YSI-ELES-----O", "----O"), (UA_METERING_EIC, "1012M"), ("10y1001c--00003f", "0003F")],
)
def test_eic_tail_examples(code: str, tail: str) -> None:
    assert eic_tail(code) == tail


def test_eic_tail_validates() -> None:
    with pytest.raises(InvalidIdentifier):
        eic_tail("10YSI-ELES-----X")


# --- phone numbers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("041 123 456", "SI", "+38641123456"),
        ("+386 41 123 456", "UA", "+38641123456"),  # explicit country code wins
        ("00386 41 123 456", "SI", "+38641123456"),
        ("tel:+386-31-234-567", "SI", "+38631234567"),
        ("050 123 4567", "UA", "+380501234567"),
        ("067 123 45 67", "ua", "+380671234567"),
        ("+380 (67) 123-45-67", "UA", "+380671234567"),
        ("0888 123 456", "BG", "+359888123456"),
        ("+359 89 812 3456", "BG", "+359898123456"),
    ],
)
def test_phone_mobile_examples(text: str, region: str, expected: str) -> None:
    assert parse_phone(text, region) == expected
    assert parse_phone(text, region, mobile_only=True) == expected


@pytest.mark.parametrize(
    ("text", "region", "expected", "kind"),
    [
        ("(01) 234 56 78", "SI", "+38612345678", "fixed-line"),
        ("04 201 31 00", "SI", "+38642013100", "fixed-line"),
        ("044 123 4567", "UA", "+380441234567", "fixed-line"),
        ("02 123 456", "BG", "+3592123456", "fixed-line"),
        ("080 123456", "SI", "+38680123456", "toll-free"),
    ],
)
def test_phone_non_mobile_examples(text: str, region: str, expected: str, kind: str) -> None:
    assert parse_phone(text, region) == expected
    with pytest.raises(InvalidIdentifier) as info:
        parse_phone(text, region, mobile_only=True)
    assert f"is a {kind} number; SMS needs a mobile number" in str(info.value)


@pytest.mark.parametrize(
    ("text", "region", "fragment"),
    [
        ("", "SI", "phone number is empty"),
        ("12", "SI", "is not a valid number for SI"),
        ("abc", "SI", "is not a phone number"),
        ("+999 123 456", "SI", "unknown country code"),
        ("041 123 456 ext. 12", "SI", "has an extension"),
        ("041 123 456", "XX", "unknown phone region 'XX'"),
        ("041 123 456", "", "unknown phone region"),
    ],
)
def test_phone_rejects(text: str, region: str, fragment: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_phone(text, region)
    assert fragment in str(info.value)


PHONE_FORMATS = [
    PhoneNumberFormat.E164,
    PhoneNumberFormat.INTERNATIONAL,
    PhoneNumberFormat.NATIONAL,
    PhoneNumberFormat.RFC3966,
]


@st.composite
def numbers_like_example(
    draw: st.DrawFn, region: str, kind: int
) -> tuple[phonenumbers.PhoneNumber, str]:
    """The region's example number for ``kind`` with random trailing digits, any format."""
    example = phonenumbers.example_number_for_type(region, kind)
    assert example is not None
    national = str(example.national_number)
    keep = len(national) - draw(st.integers(0, 4))
    tail = draw(digits(len(national) - keep))
    number = phonenumbers.parse(f"+{example.country_code}{national[:keep]}{tail}", None)
    assume(phonenumbers.is_valid_number(number))
    assume(phonenumbers.number_type(number) == kind)
    return number, phonenumbers.format_number(number, draw(st.sampled_from(PHONE_FORMATS)))


@pytest.mark.parametrize("region", ["SI", "UA", "BG"])
@given(data=st.data())
def test_phone_mobile_numbers_parse_to_e164(region: str, data: st.DataObject) -> None:
    number, text = data.draw(numbers_like_example(region, PhoneNumberType.MOBILE))
    expected = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    assert parse_phone(text, region, mobile_only=True) == expected
    assert parse_phone(f"  {text} ", region) == expected


@pytest.mark.parametrize("region", ["SI", "UA", "BG"])
@given(data=st.data())
def test_phone_fixed_line_numbers_refused_for_sms(region: str, data: st.DataObject) -> None:
    number, text = data.draw(numbers_like_example(region, PhoneNumberType.FIXED_LINE))
    expected = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    assert parse_phone(text, region) == expected
    with pytest.raises(InvalidIdentifier, match="fixed-line number; SMS needs a mobile number"):
        parse_phone(text, region, mobile_only=True)


@given(
    st.one_of(any_text, st.text(alphabet=DIGITS + "+ -()", max_size=20)),
    st.sampled_from(["SI", "UA", "BG"]),
    st.booleans(),
)
def test_phone_random_text_only_raises_invalid_identifier(
    text: str, region: str, mobile_only: bool
) -> None:
    try:
        result = parse_phone(text, region, mobile_only=mobile_only)
    except InvalidIdentifier:
        return
    assert result.startswith("+") and result[1:].isdigit()
    assert parse_phone(result, region, mobile_only=mobile_only) == result


# --- email ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ana.novak@elektro-gorenjska.si", "ana.novak@elektro-gorenjska.si"),
        ("Ana.Novak@Example.SI", "Ana.Novak@example.si"),
        ("  oksana.kovalenko@ukr.net\n", "oksana.kovalenko@ukr.net"),
        ("ivan.petrov+outages@abv.bg", "ivan.petrov+outages@abv.bg"),
        ("петров@пример.бг", "петров@пример.бг"),
    ],
)
def test_email_examples(text: str, expected: str) -> None:
    assert parse_email(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "email address is empty"),
        ("ana.novak", "must have an @-sign"),
        ("ana@localhost", "It should have a period"),
        ("ana@@example.si", "invalid characters"),
        ("ana novak@example.si", "is not valid"),
    ],
)
def test_email_rejects_with_library_reason(text: str, fragment: str) -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_email(text)
    assert fragment in str(info.value)


@given(
    st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,10}){0,2}", fullmatch=True),
    st.sampled_from(["elektro-gorenjska.si", "ukr.net", "abv.bg", "gmail.com"]),
    st.data(),
)
def test_email_lowercases_domain_keeps_local(local: str, domain: str, data: st.DataObject) -> None:
    shouted = "".join(c.upper() if data.draw(st.booleans()) else c for c in domain)
    assert parse_email(f"{local}@{shouted}") == f"{local}@{domain}"


@given(st.emails())
def test_email_generated_addresses_are_stable(text: str) -> None:
    try:
        result = parse_email(text)
    except InvalidIdentifier:
        return  # e.g. reserved TLDs that email_validator refuses
    assert parse_email(result) == result


@given(st.one_of(any_text, st.text(alphabet="ab.@-+ ", max_size=20)))
def test_email_random_text_only_raises_invalid_identifier(text: str) -> None:
    try:
        result = parse_email(text)
    except InvalidIdentifier:
        return
    assert "@" in result


# --- schemes --------------------------------------------------------------------------


def test_scheme_parsers_per_country() -> None:
    si, ua, bg = scheme_for("SI"), scheme_for("UA"), scheme_for("BG")
    assert (si.metering_point, si.account) == (parse_si_metering_point, parse_si_account)
    assert (ua.metering_point, ua.account) == (parse_ua_account, parse_ua_account)
    assert (bg.metering_point, bg.account) == (parse_bg_metering_point, parse_bg_client_number)
    assert si.metering_point_example == "6-123456"


@pytest.mark.parametrize("country", ["SI", "UA", "BG", "si", " bg "])
def test_scheme_examples_are_canonical(country: str) -> None:
    scheme = scheme_for(country)
    assert scheme.country == country.strip().upper()
    assert scheme.metering_point(scheme.metering_point_example) == scheme.metering_point_example
    assert scheme.account(scheme.account_example) == scheme.account_example


def test_scheme_is_frozen() -> None:
    scheme = scheme_for("SI")
    assert isinstance(scheme, IdentifierScheme)
    with pytest.raises(dataclasses.FrozenInstanceError):
        scheme.country = "UA"  # type: ignore[misc]


def test_unknown_country_names_known_ones() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        scheme_for("DE")
    assert "'DE'" in str(info.value)
    assert "BG, SI, UA" in str(info.value)


@given(any_text)
def test_scheme_for_random_text_only_raises_invalid_identifier(country: str) -> None:
    try:
        scheme = scheme_for(country)
    except InvalidIdentifier:
        return
    assert scheme.country in {"SI", "UA", "BG"}
