"""Amounts, currencies and dates as billing exports write them, and the bill-check
answers in each language (issue 14)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.balances import (
    LIMIT_MINOR,
    BalanceView,
    bill_text,
    format_amount,
    parse_amount,
    parse_currency,
    parse_day,
)

MINOR = st.integers(min_value=-LIMIT_MINOR, max_value=LIMIT_MINOR)


@given(MINOR, st.sampled_from([".", ","]), st.booleans())
def test_any_amount_with_a_dot_or_a_comma_reads_back(minor: int, mark: str, pad: bool) -> None:
    whole, cents = divmod(abs(minor), 100)
    sign = "-" if minor < 0 else ""
    typed = f"{sign}{whole}{mark}{cents:02d}" if pad or cents else f"{sign}{whole}"
    assert parse_amount(typed, "EUR") == minor
    assert parse_amount(f"  {typed} ", "BGN") == minor


@given(st.integers(min_value=0, max_value=10**6), st.integers(min_value=0, max_value=9))
def test_one_decimal_is_tenths(whole: int, tenth: int) -> None:
    assert parse_amount(f"{whole},{tenth}", "UAH") == whole * 100 + tenth * 10


@given(st.text(alphabet=st.sampled_from(list("0123456789.,- +eE_'")), min_size=1, max_size=12))
def test_anything_else_is_refused_never_guessed(typed: str) -> None:
    try:
        minor = parse_amount(typed, "EUR")
    except ValueError as exc:
        assert "amount" in str(exc)
        return
    # What was accepted has one decimal mark at most, 2 decimals at most, digits around it.
    compact = typed.strip().lstrip("-")
    assert compact.count(".") + compact.count(",") <= 1
    whole, _, cents = compact.replace(",", ".").partition(".")
    assert whole.isdigit() and (not cents or (cents.isdigit() and len(cents) <= 2))
    assert abs(minor) == int(whole) * 100 + int(cents.ljust(2, "0") or 0)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("12,3,4", "must be a number like 123.45"),
        ("1.234,56", "must be a number like 123.45"),
        ("1.234", "more than 2 decimals for EUR"),
        ("12 34", "must be a number"),
        ("", "must be a number"),
        ("1e3", "must be a number"),
        ("2000000000", "too large"),
    ],
)
def test_bad_amounts(typed: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_amount(typed, "EUR")


def test_currencies_without_minor_units() -> None:
    assert parse_amount("1500", "JPY") == 1500
    with pytest.raises(ValueError, match="more than 0 decimals for JPY"):
        parse_amount("1500.5", "JPY")


def test_currencies_and_dates() -> None:
    assert parse_currency(" bgn ") == "BGN"
    for bad, message in (("EURO", "3-letter"), ("XQQ", "not an ISO 4217"), ("€", "3-letter")):
        with pytest.raises(ValueError, match=message):
            parse_currency(bad)
    assert parse_day("2026-12-05") == parse_day("5.12.2026") == date(2026, 12, 5)
    for bad in ("2026-02-30", "12/05/2026", "05.12.26", "tomorrow"):
        with pytest.raises(ValueError, match="date"):
            parse_day(bad)


@given(MINOR)
def test_every_amount_formats_in_every_language(minor: int) -> None:
    for language in ("bg", "sl", "uk", "en"):
        assert format_amount(minor, "EUR", language)


def test_answers_in_each_language() -> None:
    as_of = datetime(2026, 11, 30, 23, 30, tzinfo=UTC)  # 1 December in Sofia and Kyiv
    view = BalanceView("300000000001", 12345, "BGN", date(2026, 12, 15), as_of, "Europe/Sofia")
    assert bill_text(view, "bg") == (
        "300000000001: дължите 123,45 лв. до 15.12.26 г. (към 01.12.26 г.)"
    )
    assert bill_text(view, "en") == (
        "Account 300000000001: 123.45 BGN due by 15/12/2026 (as of 01/12/2026)."
    )
    paid = BalanceView("100234", -500, "EUR", date(2026, 12, 15), as_of, "Europe/Ljubljana")
    assert bill_text(paid, "sl") == "100234: nič za plačilo (-5,00 €, stanje 1. 12. 26)"
