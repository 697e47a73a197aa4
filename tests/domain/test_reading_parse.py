"""The meter-reading parser: any number a person types (thousands spaces, comma or
dot decimals, leading zeros) reads as its value, two registers are never guessed,
and garbage never reads."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.reading_parse import (
    ParseError,
    Refusal,
    SmsReading,
    format_wh,
    parse_sms,
    parse_values,
)

SPACES = [" ", "\u00a0", "\u202f", "\u2009"]


@st.composite
def typed(draw: st.DrawFn) -> tuple[int, str]:
    """(value in Wh, how someone typed it)."""
    whole = draw(st.integers(0, 99_999_999))
    decimals = draw(st.integers(0, 3))
    fraction = draw(st.integers(0, 10**decimals - 1)) if decimals else 0
    wh = whole * 1000 + fraction * 10 ** (3 - decimals)
    style = draw(st.sampled_from(["plain", "zeros", "grouped"]))
    if style == "zeros":
        text = str(whole).rjust(draw(st.integers(1, 9)), "0")
    elif style == "grouped":
        text = f"{whole:,}".replace(",", draw(st.sampled_from(SPACES)))
    else:
        text = str(whole)
    if decimals:
        text += draw(st.sampled_from([",", "."])) + str(fraction).rjust(decimals, "0")
    return wh, text


@given(typed())
def test_any_typed_number_reads_as_its_value(case: tuple[int, str]) -> None:
    wh, text = case
    assert parse_values(text, 1) == (wh,)
    assert parse_values(f"  {text} ", 1) == (wh,)


@given(typed(), typed(), st.sampled_from([" / ", "/", ";", " ; "]))
def test_two_registers_with_a_separator_always_read(
    day: tuple[int, str], night: tuple[int, str], separator: str
) -> None:
    assert parse_values(day[1] + separator + night[1], 2) == (day[0], night[0])


@given(typed(), typed(), st.sampled_from(SPACES))
def test_two_registers_by_space_read_right_or_are_refused_as_ambiguous(
    day: tuple[int, str], night: tuple[int, str], space: str
) -> None:
    text = day[1] + space + night[1]
    try:
        assert parse_values(text, 2) == (day[0], night[0])
    except ParseError as exc:
        assert exc.refusal is Refusal.AMBIGUOUS


@given(st.integers(0, 10**9 - 1), st.integers(0, 10**9 - 1))
def test_ungrouped_registers_always_read(day: int, night: int) -> None:
    assert parse_values(f"{day} {night}", 2) == (day * 1000, night * 1000)


@given(st.text(max_size=40))
def test_garbage_never_reads(text: str) -> None:
    """Whatever reads is made of digits, spaces and the separators only."""
    try:
        values = parse_values(text, 1)
    except ParseError:
        return
    assert values and all(c.isdigit() or c in " .,/;" for c in text.strip() if not c.isspace())


@given(st.text(alphabet=st.characters(categories=["L"]), min_size=1, max_size=5), typed())
def test_a_letter_anywhere_is_refused(letters: str, case: tuple[int, str]) -> None:
    with pytest.raises(ParseError) as refused:
        parse_values(case[1] + letters, 1)
    assert refused.value.refusal is Refusal.NOT_A_NUMBER


@pytest.mark.parametrize(
    ("text", "registers", "refusal"),
    [
        ("", 1, Refusal.EMPTY),
        ("   ", 1, Refusal.EMPTY),
        ("12a45", 1, Refusal.NOT_A_NUMBER),
        ("-12345", 1, Refusal.NOT_A_NUMBER),
        ("1.234,5", 1, Refusal.NOT_A_NUMBER),
        ("12345,6789", 1, Refusal.TOO_PRECISE),
        ("12345678901", 1, Refusal.TOO_LONG),
        ("4512 1230", 1, Refusal.COUNT),
        ("4512", 2, Refusal.COUNT),
        ("4512/1230/5", 2, Refusal.COUNT),
        ("1 234 567", 2, Refusal.AMBIGUOUS),
        ("12 3456", 1, Refusal.COUNT),
    ],
)
def test_each_bad_reading_has_its_reason(text: str, registers: int, refusal: Refusal) -> None:
    with pytest.raises(ParseError) as refused:
        parse_values(text, registers)
    assert refused.value.refusal is refusal


def test_sms_shapes() -> None:
    assert parse_sms("123456789 12 345") == SmsReading("123456789", "12 345")
    assert parse_sms("ПОКАЗИ 123456789 4512 1230") == SmsReading("123456789", "4512 1230")
    assert parse_sms("показники: 123456789 4512,5") == SmsReading("123456789", "4512,5")
    for keyword_text in ("6-123456 PRIJAVA", "STOP", "300 000 000 001", "123456789 UA-777 СТАРТ"):
        assert parse_sms(keyword_text) is None


@given(st.integers(0, 10**12 - 1))
def test_format_wh_reads_back(wh: int) -> None:
    assert parse_values(format_wh(wh), 1) == (wh,)
