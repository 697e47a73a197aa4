"""Masked addresses for delivery evidence: examples plus Hypothesis properties. What a
masked address keeps is exactly what the README promises, and nothing else of it shows."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from dispatch_tui.domain.masking import HIDDEN, mask_address
from dispatch_tui.storage.models import CHANNELS

CODES = sorted(str(code) for code in COUNTRY_CODE_TO_REGION_CODE if code)
DIGITS = "0123456789"
PLAIN = "abcdefghijklmnopqrstuvwxyz0123456789._-+"


@pytest.mark.parametrize(
    ("channel", "address", "masked"),
    [
        ("sms", "+38641123456", "+386*****456"),
        ("sms", "+380671234567", "+380******567"),
        ("sms", "+359881234567", "+359******567"),
        ("sms", "+14155550123", "+1*******123"),
        ("sms", "+386123", "+******"),
        ("email", "ana.novak@example.si", f"a{HIDDEN}@example.si"),
        ("email", "a@b.si", f"a{HIDDEN}@b.si"),
        ("email", "no-at-sign", f"{HIDDEN}ign"),
        ("telegram", "123456789", f"{HIDDEN}789"),
        ("viber", "01234567890A=", f"{HIDDEN}0A="),
        ("telegram", "123456", HIDDEN),
        ("sms", "ELEKTRO", f"{HIDDEN}TRO"),
        ("sms", "", HIDDEN),
    ],
)
def test_examples(channel: str, address: str, masked: str) -> None:
    assert mask_address(channel, address) == masked


@given(st.sampled_from(CODES), st.text(DIGITS, min_size=4, max_size=12))
def test_a_phone_keeps_its_country_code_and_last_three_digits(code: str, rest: str) -> None:
    phone = f"+{code}{rest}"
    masked = mask_address("sms", phone)
    assert masked == f"+{code}{'*' * (len(rest) - 3)}{rest[-3:]}"
    assert len(masked) == len(phone)


@given(st.text(PLAIN, min_size=2, max_size=30), st.text(PLAIN, min_size=1, max_size=30))
def test_an_email_keeps_its_first_letter_and_domain(local: str, domain: str) -> None:
    masked = mask_address("email", f"{local}@{domain}")
    shown, _, kept_domain = masked.rpartition("@")
    assert kept_domain == domain
    assert shown == local[0] + HIDDEN


@given(st.text(PLAIN, min_size=7, max_size=40))
def test_a_chat_id_keeps_its_last_three_characters(chat: str) -> None:
    for channel in ("telegram", "viber"):
        assert mask_address(channel, chat) == HIDDEN + chat[-3:]


@given(st.sampled_from(CHANNELS), st.text(min_size=1, max_size=60))
def test_no_address_is_ever_shown_whole(channel: str, address: str) -> None:
    masked = mask_address(channel, address)
    if "*" not in address:
        assert masked != address
        assert address not in masked
    assert "*" in masked
