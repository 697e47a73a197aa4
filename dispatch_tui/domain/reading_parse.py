"""Meter readings as people type them (seed 003: SMS, bots, the web form).

A reading is one number per register (one, or two: day and night). People
group thousands with spaces (also no-break and thin spaces), write the
decimals after a comma or a dot, and copy the leading zeros off the meter's
display: "012345", "12 345", "12345,6", "12 345.6" are all read. Two
registers are separated by a space, or unmistakably by "/" or ";".

What can be read two ways is refused, never guessed: "12 345 678" for two
registers is 12 / 345678, 12345 / 678 or one number. A comma is always a
decimal comma (thousands go with spaces), as on Ukrainian and Bulgarian
meters and bills. Values are kept in watt-hours (thousandths of a kWh, the
most decimals a display shows), so no backend rounds them.

An SMS says which account first: "<account> <reading>" or "<account> <day>
<night>", optionally after a word saying what it is ("ПОКАЗИ", "READING");
the account may also be a metering point id, which is how an account with
several metering points names one (see storage.readings).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = [
    "MAX_DECIMALS",
    "ParseError",
    "Refusal",
    "SmsReading",
    "format_wh",
    "parse_sms",
    "parse_values",
]

MAX_DECIMALS: Final = 3
MAX_WHOLE_DIGITS: Final = 9
"""999,999,999 kWh: more than any household meter shows."""
MAX_TEXT: Final = 120


class Refusal(StrEnum):
    """Why a typed reading is not read; each has its own answer (domain.reading_replies)."""

    EMPTY = "empty"
    NOT_A_NUMBER = "not_a_number"
    TOO_PRECISE = "too_precise"
    TOO_LONG = "too_long"
    COUNT = "count"
    """Not as many numbers as the meter has registers."""
    AMBIGUOUS = "ambiguous"


class ParseError(ValueError):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(str(refusal))
        self.refusal = refusal


_SPACES: Final = re.compile(r"\s+")
_SEPARATOR: Final = re.compile(r"\s*[/;]\s*")
_PLAIN: Final = re.compile(r"([0-9]+)(?:[.,]([0-9]+))?")
_LEAD: Final = re.compile(r"[0-9]{1,3}")
_GROUP: Final = re.compile(r"([0-9]{3})(?:[.,]([0-9]+))?")


def _normalised(text: str) -> str:
    """NFKC makes no-break and thin spaces plain spaces and full-width digits ASCII."""
    return unicodedata.normalize("NFKC", text).strip()


def _wh(whole: str, decimals: str | None) -> int:
    if decimals is not None and len(decimals) > MAX_DECIMALS:
        raise ParseError(Refusal.TOO_PRECISE)
    if len(whole.lstrip("0")) > MAX_WHOLE_DIGITS:
        raise ParseError(Refusal.TOO_LONG)
    return int(whole) * 1000 + int((decimals or "").ljust(MAX_DECIMALS, "0"))


def _number(tokens: list[str]) -> int | None:
    """The tokens as one number (Wh), or None when they are not one."""
    if len(tokens) == 1:
        plain = _PLAIN.fullmatch(tokens[0])
        return None if plain is None else _wh(plain[1], plain[2])
    if not _LEAD.fullmatch(tokens[0]):
        return None
    whole = tokens[0]
    for i, token in enumerate(tokens[1:], 1):
        group = _GROUP.fullmatch(token)
        if group is None or (group[2] is not None and i < len(tokens) - 1):
            return None
        whole += group[1]
        if group[2] is not None:
            return _wh(whole, group[2])
    return _wh(whole, None)


def _splits(tokens: list[str], parts: int, refused: list[Refusal]) -> list[tuple[int, ...]]:
    """Every way to read `tokens` as `parts` numbers; a number that is too long or too
    precise is no way, and `refused` says so in case there is none."""
    if parts == 1:
        try:
            value = _number(tokens)
        except ParseError as exc:
            refused.append(exc.refusal)
            return []
        return [] if value is None else [(value,)]
    found = []
    for cut in range(1, len(tokens)):
        for head in _splits(tokens[:cut], 1, refused):
            found += [(*head, *rest) for rest in _splits(tokens[cut:], parts - 1, refused)]
    return found


def _only(found: list[tuple[int, ...]], refused: list[Refusal]) -> tuple[int, ...]:
    distinct = list(dict.fromkeys(found))
    if len(distinct) > 1:
        raise ParseError(Refusal.AMBIGUOUS)
    if not distinct:
        raise ParseError(refused[0] if refused else Refusal.COUNT)
    return distinct[0]


def parse_values(text: str, registers: int) -> tuple[int, ...]:
    """The reading of each register in watt-hours; ParseError says why not."""
    folded = _normalised(text)
    if not folded:
        raise ParseError(Refusal.EMPTY)
    if len(folded) > MAX_TEXT:
        raise ParseError(Refusal.TOO_LONG)
    if any(not (c.isdigit() and c.isascii()) and c not in " .,/;" for c in folded):
        raise ParseError(Refusal.NOT_A_NUMBER)
    pieces = _SEPARATOR.split(folded)
    if len(pieces) > 1:
        if len(pieces) != registers or not all(pieces):
            raise ParseError(Refusal.COUNT)
        values: list[int] = []
        for piece in pieces:
            refused: list[Refusal] = []
            values += _only(_splits(_tokens(piece), 1, refused), refused or [Refusal.NOT_A_NUMBER])
        return tuple(values)
    refused = []
    return _only(_splits(_tokens(folded), registers, refused), refused)


def _tokens(text: str) -> list[str]:
    tokens = _SPACES.split(text)
    if any(not _PLAIN.fullmatch(t) for t in tokens):
        raise ParseError(Refusal.NOT_A_NUMBER)
    return tokens


_KEYWORDS: Final = frozenset(
    {"ПОКАЗ", "ПОКАЗИ", "ПОКАЗНИКИ", "ПОКАЗАННЯ", "ПОКАЗАНИЯ", "READING", "READINGS"}
)
_IDENTIFIER: Final = re.compile(r"[0-9][0-9-]{3,30}[0-9]")


@dataclass(frozen=True)
class SmsReading:
    """An SMS shaped like a reading: who it names and the numbers' text, still unread
    (how many registers there are depends on the utility the identifier belongs to)."""

    identifier: str
    values: str


def parse_sms(text: str) -> SmsReading | None:
    """ "123456789 12 345" or "ПОКАЗИ 123456789 4512 1230" → the identifier and the
    rest; None when the text is not shaped like a reading at all (then it is read as
    a keyword command, domain.keywords)."""
    folded = _normalised(text)
    if len(folded) > MAX_TEXT:
        return None
    words = folded.split()
    if words and words[0].upper().strip(":.,") in _KEYWORDS:
        words = words[1:]
    if len(words) < 2 or not _IDENTIFIER.fullmatch(words[0]):
        return None
    rest = " ".join(words[1:])
    if any(not (c.isdigit() and c.isascii()) and c not in " .,/;" for c in rest):
        return None
    return SmsReading(words[0], rest)


def format_wh(wh: int) -> str:
    """Watt-hours as kWh the way a meter shows them: no trailing zero decimals."""
    whole, rest = divmod(abs(wh), 1000)
    sign = "-" if wh < 0 else ""
    if not rest:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{rest:03d}".rstrip("0")
