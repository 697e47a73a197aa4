"""The inbound SMS keyword parser: a corpus of how people really type, and
properties over generated spellings, including the proof a Ukrainian
account sign-up carries."""

from __future__ import annotations

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st

from dispatch_tui.domain.bot_dialogue import Account, proof_matches
from dispatch_tui.domain.keywords import Command, IdKind, Intent, parse

SI_IN = Command(Intent.SUBSCRIBE, IdKind.SI_METERING_POINT, "6-123456", "sl")
SI_OUT = Command(Intent.UNSUBSCRIBE, IdKind.SI_METERING_POINT, "6-123456", "sl")
BG_IN = Command(Intent.SUBSCRIBE, IdKind.BG_CLIENT, "300012345678", "bg")
BG_OUT = Command(Intent.UNSUBSCRIBE, IdKind.BG_CLIENT, "300012345678", "bg")
UA_IN = Command(Intent.SUBSCRIBE, IdKind.UA_ACCOUNT, "123456789", "uk")
UA_OUT = Command(Intent.UNSUBSCRIBE, IdKind.UA_ACCOUNT, "123456789", "uk")


def ua_in(proof: str, language: str = "uk") -> Command:
    return Command(Intent.SUBSCRIBE, IdKind.UA_ACCOUNT, "123456789", language, proof)


CORPUS = [
    ("6-123456 PRIJAVA", SI_IN),
    ("6-123456 prijava", SI_IN),
    ("6123456 PRIJAVA", SI_IN),
    ("6 123456 Prijava", SI_IN),
    ("6 - 123456   PRIJAVA", SI_IN),
    ("6–123456 PRIJAVA", SI_IN),
    ("PRIJAVA 6-123456", SI_IN),
    ("6-123456 PRJAVA", SI_IN),
    ("6-123456 PRIJVA", SI_IN),
    ("6-123456 PRIAJVA", SI_IN),
    ("6-123456 PRIJAVAA", SI_IN),
    ("6-123456 prijavi", SI_IN),
    ("6-123456 РRIJAVA", SI_IN),  # Cyrillic Р from a Serbian keyboard
    ("6-123456 PRIJAVA.", SI_IN),
    ("  6-123456 PRIJAVA\n", SI_IN),
    ("6-123456PRIJAVA", SI_IN),
    ("6123456prijava", SI_IN),
    ("PRIJAVA6-123456", SI_IN),
    ("prijava 6 123456", SI_IN),
    ("PRIJAVA-6-123456", SI_IN),
    ("6-123456 ODJAVA", SI_OUT),
    ("ODJAVA 6-123456", SI_OUT),
    ("6-123456ODJAVA", SI_OUT),
    ("odjava6123456", SI_OUT),
    ("6-123456 odjava", SI_OUT),
    ("6-123456 ODJVA", SI_OUT),
    ("6-123456 0DJAVA", SI_OUT),
    ("300012345678", BG_IN),
    ("3000 1234 5678", BG_IN),
    (" 300012345678 ", BG_IN),
    ("СТОП 300012345678", BG_OUT),
    ("300012345678 стоп", BG_OUT),
    ("300012345678 CTOП", BG_OUT),  # Latin C and T
    ("СТОП300012345678", BG_OUT),
    ("300012345678СТОП", BG_OUT),
    ("стоп 3000 1234 5678", BG_OUT),
    ("123456789 СТАРТ", UA_IN),
    ("123 456 789 старт", UA_IN),
    ("123456789 ПІДПИСКА", UA_IN),
    ("123456789 ПIДПИСКА", UA_IN),  # Latin I
    ("123456789 ВІДПИСКА", UA_OUT),
    ("123456789 СТОП", UA_OUT),
    ("123456789СТАРТ", UA_IN),
    ("СТАРТ 123456789", UA_IN),
    ("старт123456789", UA_IN),
    ("ВІДПИСКА 123456789", UA_OUT),
    ("123456789відписка", UA_OUT),
    ("ВІДПИСКА123456789", UA_OUT),
    ("123456789 UA-777002 СТАРТ", ua_in("UA-777002")),
    ("123456789 10001 старт", ua_in("10001")),
    ("123 456 789 10001 СТАРТ", ua_in("10001")),
    ("СТАРТ 123456789 0127x", ua_in("0127x")),
    ("123456789 UA-777002СТАРТ", ua_in("UA777002")),
    ("123456789 10 001 ПІДПИСКА", ua_in("10001")),
    ("123456789 00012345678 START", ua_in("00012345678", "en")),
    ("STOP", Command(Intent.STOP_ALL, language="en")),
    ("stop", Command(Intent.STOP_ALL, language="en")),
    ("Stop.", Command(Intent.STOP_ALL, language="en")),
    ("СТОП", Command(Intent.STOP_ALL)),
    ("START", Command(Intent.START_ALL, language="en")),
    ("старт", Command(Intent.START_ALL, language="uk")),
]

NOT_COMMANDS = [
    "",
    "   ",
    "hello",
    "6-123456",
    "PRIJAVA",
    "ODJAVA",
    "6-123456 PRIJAVA ODJAVA",
    "6-12345 PRIJAVA",
    "0-123456 PRIJAVA",
    "30001234567",
    "6-123456 PRIJAVA 300012345678",
    "6-123456PRIJAVAODJAVA",
    "6/123456 PRIJAVA",
    "6-123456PRIJAVA300012345678",
    "PRIJAVA6-1234567",
    "kdaj bo elektrika?",
    "STOP STOP",
    "123456789 UA-777002 СТОП",  # leaving needs no proof, and a stray word is not one
    "123456789 12 СТАРТ",  # too short to be a proof
    "6-123456 10001 PRIJAVA",
    "x" * 500,
]


@pytest.mark.parametrize(("text", "expected"), CORPUS)
def test_real_world_spellings(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize("text", NOT_COMMANDS)
def test_what_is_not_a_command(text: str) -> None:
    assert parse(text) is None


@given(
    digit=st.integers(1, 9),
    serial=st.integers(0, 999_999),
    dash=st.sampled_from(["-", "", " - ", " ", "–", "—"]),
    keyword=st.sampled_from(["PRIJAVA", "ODJAVA"]),
    case=st.sampled_from([str.upper, str.lower, str.title]),
    gap=st.sampled_from(["", " ", "  ", "\t"]),
    keyword_first=st.booleans(),
)
def test_slovene_commands_in_any_spelling(
    digit: int, serial: int, dash: str, keyword: str, case: object, gap: str, keyword_first: bool
) -> None:
    ident = f"{digit}{dash}{serial:06d}"
    word = case(keyword)  # type: ignore[operator]
    text = f"{word}{gap}{ident}" if keyword_first else f"{ident}{gap}{word}"
    command = parse(text)
    assert command is not None
    assert command.identifier == f"{digit}-{serial:06d}"
    assert command.intent is (Intent.SUBSCRIBE if keyword == "PRIJAVA" else Intent.UNSUBSCRIBE)


# (keyword, identifier as canonical, identifier as typed, intent, language)
_ANY_COMMAND: list[tuple[str, IdKind, str, Intent, str]] = [
    ("PRIJAVA", IdKind.SI_METERING_POINT, "6-123456", Intent.SUBSCRIBE, "sl"),
    ("ODJAVA", IdKind.SI_METERING_POINT, "6-123456", Intent.UNSUBSCRIBE, "sl"),
    ("СТАРТ", IdKind.UA_ACCOUNT, "123456789", Intent.SUBSCRIBE, "uk"),
    ("ПІДПИСКА", IdKind.UA_ACCOUNT, "123456789", Intent.SUBSCRIBE, "uk"),
    ("ВІДПИСКА", IdKind.UA_ACCOUNT, "123456789", Intent.UNSUBSCRIBE, "uk"),
    ("СТОП", IdKind.UA_ACCOUNT, "123456789", Intent.UNSUBSCRIBE, "uk"),
    ("СТОП", IdKind.BG_CLIENT, "300012345678", Intent.UNSUBSCRIBE, "bg"),
]


@given(
    command=st.sampled_from(_ANY_COMMAND),
    typed=st.sampled_from(["{}", "{} ", " {}"]),
    spaced_id=st.booleans(),
    case=st.sampled_from([str.upper, str.lower, str.title]),
    gap=st.sampled_from(["", " ", "  ", "\t"]),
    keyword_first=st.booleans(),
)
def test_every_keyword_before_or_after_its_id_with_or_without_space(
    command: tuple[str, IdKind, str, Intent, str],
    typed: str,
    spaced_id: bool,
    case: object,
    gap: str,
    keyword_first: bool,
) -> None:
    keyword, kind, ident, intent, language = command
    written = ident
    if spaced_id and kind is not IdKind.SI_METERING_POINT:
        written = " ".join(ident[i : i + 3] for i in range(0, len(ident), 3))
    word = case(keyword)  # type: ignore[operator]
    text = typed.format(f"{word}{gap}{written}" if keyword_first else f"{written}{gap}{word}")
    assert parse(text) == Command(intent, kind, ident, language)


@given(st.text(max_size=200))
def test_any_text_parses_or_is_refused_without_error(text: str) -> None:
    command = parse(text)
    if command is not None and command.identifier is not None:
        assert command.id_kind is not None
        assert command.identifier.replace("-", "").isdigit()


@given(number=st.integers(0, 10**12 - 1), stop=st.booleans())
def test_bulgarian_client_numbers(number: int, stop: bool) -> None:
    text = f"{number:012d}" + (" СТОП" if stop else "")
    command = parse(text)
    assert command is not None and command.identifier == f"{number:012d}"
    assert command.intent is (Intent.UNSUBSCRIBE if stop else Intent.SUBSCRIBE)


@given(
    account=st.integers(0, 10**9 - 1),
    spaced=st.booleans(),
    proof=st.one_of(
        st.integers(1000, 10**10).map(str),
        st.integers(0, 999_999).map(lambda n: f"UA-{n:06d}"),
        st.text("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=5, max_size=5),
    ),
    keyword=st.sampled_from(["СТАРТ", "ПІДПИСКА", "START"]),
    case=st.sampled_from([str.upper, str.lower, str.title]),
    keyword_first=st.booleans(),
    gap=st.sampled_from(["", " ", "  "]),
)
# A proof that comes near a keyword ("0TAPT" ~ СТАРТ) is a proof beside an exact keyword.
@example(
    account=0,
    spaced=False,
    proof="0TAPT",
    keyword="СТАРТ",
    case=str.upper,
    keyword_first=True,
    gap="",
)
def test_a_ukrainian_sign_up_carries_its_proof_in_any_spelling(
    account: int,
    spaced: bool,
    proof: str,
    keyword: str,
    case: object,
    keyword_first: bool,
    gap: str,
) -> None:
    # A proof that ends in a letter, glued to the keyword, has no telling where it ends.
    assume(gap or keyword_first or not proof[-1].isalpha())
    ident = f"{account:09d}"
    written = " ".join(ident[i : i + 3] for i in range(0, 9, 3)) if spaced else ident
    word = case(keyword)  # type: ignore[operator]
    typed = case(proof)  # type: ignore[operator]
    text = f"{word}{gap} {written} {typed}" if keyword_first else f"{written} {typed}{gap}{word}"
    command = parse(text)
    assert command is not None, text
    assert (command.intent, command.id_kind, command.identifier) == (
        Intent.SUBSCRIBE,
        IdKind.UA_ACCOUNT,
        ident,
    )
    assert command.proof is not None
    assert proof_matches(Account(ident, frozenset({proof}), frozenset(), ()), command.proof)


@given(st.text(max_size=120))
def test_only_a_ukrainian_sign_up_carries_a_proof(text: str) -> None:
    command = parse(text)
    if command is not None and command.proof is not None:
        assert command.intent is Intent.SUBSCRIBE and command.id_kind is IdKind.UA_ACCOUNT
