"""Confirmation-code rules: format, reading what people type, expiry, tries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain import signup_codes as codes
from dispatch_tui.domain.sms import analyse

T0 = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=200))
def test_new_codes_are_six_ascii_digits(_n: int) -> None:
    code = codes.new_code()
    assert len(code) == 6 and code.isascii() and code.isdigit()


def test_codes_and_tokens_do_not_repeat() -> None:
    assert len({codes.new_token() for _ in range(1000)}) == 1000
    assert len({codes.new_code() for _ in range(1000)}) > 990


@given(st.integers(min_value=0, max_value=999_999), st.sampled_from(["", " ", "-", "  "]))
def test_typed_codes_are_read_with_spaces_and_any_digits(number: int, gap: str) -> None:
    code = f"{number:06d}"
    assert codes.read_code(code[:3] + gap + code[3:]) == code
    fullwidth = "".join(chr(0xFF10 + int(c)) for c in code)
    assert codes.read_code(fullwidth) == code
    arabic = "".join(chr(0x0660 + int(c)) for c in code)
    assert codes.read_code(f" {arabic} ") == code


@given(st.text(max_size=12))
def test_anything_else_is_not_a_code(text: str) -> None:
    read = codes.read_code(text)
    assert read is None or (len(read) == 6 and read.isascii() and read.isdigit())


@given(st.integers(min_value=0, max_value=10), st.integers(min_value=0, max_value=30 * 60))
def test_a_code_is_open_for_fifteen_minutes_and_five_wrong_tries(tries: int, seconds: int) -> None:
    state = codes.CodeState(T0, tries)
    verdict = codes.check(state, T0 + timedelta(seconds=seconds))
    if tries >= codes.MAX_TRIES:
        assert verdict is codes.CodeCheck.SPENT
    elif seconds >= 15 * 60:
        assert verdict is codes.CodeCheck.EXPIRED
    else:
        assert verdict is codes.CodeCheck.OPEN
    assert state.tries_left == max(0, 5 - tries)


@given(st.integers(min_value=0, max_value=999_999), st.integers(min_value=0, max_value=999_999))
def test_a_code_matches_only_itself_under_its_own_token(a: int, b: int) -> None:
    token, other = codes.new_token(), codes.new_token()
    stored = codes.code_digest(token, f"{a:06d}")
    assert codes.matches(token, f"{a:06d}", stored)
    assert codes.matches(token, f"{b:06d}", stored) == (a == b)
    assert not codes.matches(other, f"{a:06d}", stored)


def test_the_code_message_is_one_sms_in_every_language() -> None:
    for language in ("sl", "uk", "bg", "en", "xx"):
        subject, body = codes.code_message(language, "012345", "Закарпаттяобленерго")
        assert "012345" in body and analyse(body).segments == 1
        assert subject.startswith("Закарпаттяобленерго")


def test_addresses_are_shown_masked() -> None:
    assert codes.mask_address("sms", "+38640999888") == "+386 … 888"
    assert codes.mask_address("email", "mojca@example.si") == "m…@example.si"
    assert "mojca" not in codes.mask_address("email", "mojca@example.si")
