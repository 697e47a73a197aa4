"""The bill-check keywords (issue 14), beside the sign-up grammar they must not
change: "SMETKA 300000000001" in any script, case and spacing; the keyword alone."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.keywords import Intent, parse

KEYWORDS = {
    "SMETKA": "bg",
    "СМЕТКА": "bg",
    "RAČUN": "sl",
    "RACUN": "sl",
    "РАХУНОК": "uk",
    "RAHUNOK": "uk",
    "BILL": "en",
    "BALANCE": "en",
}


def spaced(digits: str, cuts: list[int]) -> str:
    out = digits
    for cut in sorted({c % len(digits) for c in cuts if c % len(digits)}, reverse=True):
        out = out[:cut] + " " + out[cut:]
    return out


@given(
    st.sampled_from(sorted(KEYWORDS)),
    st.from_regex(r"[0-9]{5,12}", fullmatch=True),
    st.lists(st.integers(min_value=1, max_value=11), max_size=3),
    st.booleans(),
    st.booleans(),
)
def test_keyword_and_number_in_any_order_case_and_spacing(
    word: str, number: str, cuts: list[int], after: bool, lower: bool
) -> None:
    typed_word = word.lower() if lower else word
    typed_number = spaced(number, cuts)
    text = f"{typed_number} {typed_word}" if after else f"{typed_word} {typed_number}"
    command = parse(text)
    assert command is not None and command.intent is Intent.BILL_CHECK
    assert (command.identifier, command.language) == (number, KEYWORDS[word])


@pytest.mark.parametrize("word", sorted(KEYWORDS))
def test_the_keyword_alone(word: str) -> None:
    command = parse(f" {word.lower()}! ")
    assert command is not None and command.intent is Intent.BILL_CHECK
    assert command.identifier is None and command.language == KEYWORDS[word]


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("SMETKA300000000001", "300000000001"),
        ("смeтка 3000-0000-0001", None),
        ("smetak 100234", "100234"),
    ],
)
def test_glued_and_slipped(text: str, number: str | None) -> None:
    command = parse(text)
    if number is None:
        assert command is None
    else:
        assert command is not None and command.intent is Intent.BILL_CHECK
        assert command.identifier == number


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("300000000001", Intent.SUBSCRIBE),
        ("СТОП 300000000001", Intent.UNSUBSCRIBE),
        ("6-123456 PRIJAVA", Intent.SUBSCRIBE),
        ("6-123456 ODJAVA", Intent.UNSUBSCRIBE),
        ("STOP", Intent.STOP_ALL),
        ("СТАРТ", Intent.START_ALL),
        ("100000002 UA-777002 СТАРТ", Intent.SUBSCRIBE),
    ],
)
def test_the_sign_up_words_are_unchanged(text: str, intent: Intent) -> None:
    command = parse(text)
    assert command is not None and command.intent is intent


@pytest.mark.parametrize("text", ["SMETKA 12", "BILL 1234567890123", "СМЕТКА abc", "BILL 12 STOP"])
def test_a_keyword_with_something_else_is_not_a_check(text: str) -> None:
    command = parse(text)
    assert command is None or command.intent is not Intent.BILL_CHECK


@pytest.mark.parametrize(
    ("text", "intent", "language"),
    [
        ("SMETKA START", Intent.BILL_SUBSCRIBE, "bg"),
        ("старт сметка", Intent.BILL_SUBSCRIBE, "bg"),
        ("RAČUN PRIJAVA", Intent.BILL_SUBSCRIBE, "sl"),
        ("рахунок старт", Intent.BILL_SUBSCRIBE, "uk"),
        ("BILL STOP", Intent.BILL_UNSUBSCRIBE, "en"),
        ("СМЕТКА СТОП", Intent.BILL_UNSUBSCRIBE, "bg"),
        ("racun odjava", Intent.BILL_UNSUBSCRIBE, "sl"),
    ],
)
def test_registering_for_the_bill_services(text: str, intent: Intent, language: str) -> None:
    command = parse(text)
    assert command is not None and (command.intent, command.language) == (intent, language)
