"""Recipients' addresses as evidence may show them: enough to tell one recipient from
another and to answer "did my number get it?", not enough to contact anyone.

A phone keeps its country code and last 3 digits (`+386*****456`), an e-mail its first
letter and domain (`a***@example.si`), a chat or user id its last 3 characters
(`***789`). Whatever does not have the expected shape is masked as an id, so an odd
address is never shown whole.

Pure: no I/O and no project imports.
"""

from __future__ import annotations

import re
from typing import Final

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

__all__ = ["mask_address"]

KEPT_DIGITS: Final = 3
"""Trailing digits (of a phone) or characters (of an id) left visible."""
HIDDEN: Final = "***"
"""What stands for the hidden part of an e-mail or id: a fixed width, so it says nothing
of their length."""
_E164: Final = re.compile(r"\+[0-9]+")
_SHORT_ID: Final = 2 * KEPT_DIGITS
"""Ids this short are hidden whole: their last characters would be half of them."""


def _country_code(digits: str) -> str:
    """The country calling code that starts `digits` ("" when none does). Codes are
    prefix-free, so the first one found is the one."""
    for length in (1, 2, 3):
        if int(digits[:length]) in COUNTRY_CODE_TO_REGION_CODE:
            return digits[:length]
    return ""


def _mask_phone(address: str) -> str:
    digits = address[1:]
    code = _country_code(digits)
    rest = digits[len(code) :]
    if len(rest) <= KEPT_DIGITS:
        return "+" + "*" * len(digits)
    return f"+{code}{'*' * (len(rest) - KEPT_DIGITS)}{rest[-KEPT_DIGITS:]}"


def _mask_email(address: str) -> str | None:
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain:
        return None
    return f"{local[0]}{HIDDEN}@{domain}"


def _mask_id(address: str) -> str:
    if len(address) <= _SHORT_ID:
        return HIDDEN
    return HIDDEN + address[-KEPT_DIGITS:]


def mask_address(channel: str, address: str) -> str:
    """`address` of `channel` ("sms", "email", "telegram", "viber") masked for evidence."""
    if channel == "sms" and _E164.fullmatch(address):
        return _mask_phone(address)
    if channel == "email" and (masked := _mask_email(address)) is not None:
        return masked
    return _mask_id(address)
