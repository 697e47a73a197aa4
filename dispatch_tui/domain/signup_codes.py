"""Confirmation codes of a web sign-up (seeds 000, 002, 004): pure rules.

A sign-up is activated only by the 6-digit code sent to the phone or
address it names. A code is good for `CODE_TTL` and `MAX_TRIES` wrong
entries; after either, only a new code helps. A code is stored as an HMAC
keyed with the sign-up's own secret token (which only the person's browser
holds, the database keeps its hash), so whoever reads the table cannot try
the million codes offline.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

__all__ = [
    "CODE_LENGTH",
    "CODE_TTL",
    "MAX_TRIES",
    "CodeCheck",
    "CodeState",
    "check",
    "code_digest",
    "code_message",
    "mask_address",
    "matches",
    "new_code",
    "new_token",
    "read_code",
    "token_digest",
]

CODE_LENGTH: Final = 6
CODE_TTL: Final = timedelta(minutes=15)
MAX_TRIES: Final = 5
"""Wrong entries one code takes; then a new code is needed."""
TOKEN_BYTES: Final = 32


def new_code() -> str:
    """Six random digits from the OS's CSPRNG."""
    return f"{secrets.randbelow(10**CODE_LENGTH):0{CODE_LENGTH}d}"


def new_token() -> str:
    """The sign-up's secret handle (43 URL-safe characters) the browser keeps."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """What the database keeps of a token: it finds the row, and does not give the token."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def code_digest(token: str, code: str) -> str:
    """The stored form of `code`, keyed with the sign-up's token."""
    return hmac.new(token.encode("utf-8"), code.encode("ascii"), hashlib.sha256).hexdigest()


def read_code(text: str) -> str | None:
    """The code a person typed: spaces and dashes ignored, any script's digits read as
    ASCII ("１２３ ４５６" → "123456"); None when it is not exactly six digits."""
    kept = [c for c in unicodedata.normalize("NFKC", text) if c not in " -\t\u00a0"]
    if len(kept) != CODE_LENGTH or not all(c.isdecimal() for c in kept):
        return None
    return "".join(str(unicodedata.decimal(c)) for c in kept)


class CodeCheck(StrEnum):
    OPEN = "open"
    """The code may be tried."""
    EXPIRED = "expired"
    SPENT = "spent"
    """`MAX_TRIES` wrong entries: a new code is needed."""


@dataclass(frozen=True)
class CodeState:
    issued_at: datetime
    wrong_tries: int

    @property
    def expires_at(self) -> datetime:
        return self.issued_at + CODE_TTL

    @property
    def tries_left(self) -> int:
        return max(0, MAX_TRIES - self.wrong_tries)


def check(state: CodeState, now: datetime) -> CodeCheck:
    """Whether a code in `state` may still be tried at `now` (spent wins over expired:
    both need a new code, and spent is what the person caused)."""
    if state.wrong_tries >= MAX_TRIES:
        return CodeCheck.SPENT
    if now >= state.expires_at:
        return CodeCheck.EXPIRED
    return CodeCheck.OPEN


def matches(token: str, code: str, stored: str) -> bool:
    """Constant-time comparison of an entered (already read) code with the stored digest."""
    return hmac.compare_digest(code_digest(token, code), stored)


def mask_address(channel: str, address: str) -> str:
    """An address as a page may show it back: "+386 … 456", "a…@example.si"."""
    if channel == "email":
        local, _, domain = address.rpartition("@")
        return f"{local[:1]}…@{domain}" if local else "…"
    return f"{address[:4]} … {address[-3:]}" if len(address) > 7 else "…"


_CODE_TEXT: Final = {
    "sl": (
        "{name}: potrditvena koda",
        "Koda za prijavo na obvestila o izklopih: {code}. Velja 15 minut.",
    ),
    "uk": ("{name}: код підтвердження", "Код для підписки на повідомлення: {code}. Діє 15 хвилин."),
    "bg": (
        "{name}: код за потвърждение",
        "Код за абонамент за известия: {code}. Валиден 15 минути.",
    ),
    "en": (
        "{name}: confirmation code",
        "Your code to sign up for outage notices: {code}. Valid 15 minutes.",
    ),
}


def code_message(language: str, code: str, utility_name: str) -> tuple[str, str]:
    """(subject, body) of the message carrying a code: the body is one SMS segment in
    every language (the sender id or the subject names the utility)."""
    subject, body = _CODE_TEXT.get(language, _CODE_TEXT["en"])
    return subject.format(name=utility_name), body.format(code=code)
