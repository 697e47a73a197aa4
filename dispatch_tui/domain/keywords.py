"""Inbound SMS commands: sign up and leave by keyword, as the utilities do it.

Seed 000 (Elektro Gorenjska): "<metering point> PRIJAVA" / "<metering point>
ODJAVA". Seed 002 (Bulgaria): the 12-digit client number alone signs up;
we add "СТОП <number>" to leave. Ukrainian: "<9-digit account> <meter number
or last 5 characters of the EIC> СТАРТ" (or "ПІДПИСКА") signs up, with the
same proof the bot asks for (seed 001); "<account> СТОП" or "ВІДПИСКА"
leaves. Anywhere: "STOP" or "START" alone, for every subscription of the
sending phone.

People type on phones: any case, extra or missing spaces (also none
between the number and the keyword, on either side), a missing dash in
the metering point id, Cyrillic letters that look Latin (and the other
way round), a keyword one typing slip away. The parser folds all of that;
anything still unclear is `None`, which gets one short help reply.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

__all__ = ["Command", "IdKind", "Intent", "parse"]


class Intent(StrEnum):
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    STOP_ALL = "stop_all"
    START_ALL = "start_all"
    BILL_CHECK = "bill_check"
    """ "<keyword> <client number>": what the account owes (issue 14; `_bill_check`)."""
    BILL_SUBSCRIBE = "bill_subscribe"
    """ "<bill keyword> START": bill information and payment reminders for the phone."""
    BILL_UNSUBSCRIBE = "bill_unsubscribe"
    """ "<bill keyword> STOP": no more of them (outage notices stay; STOP alone ends all)."""


class IdKind(StrEnum):
    SI_METERING_POINT = "si_metering_point"
    BG_CLIENT = "bg_client"
    UA_ACCOUNT = "ua_account"


@dataclass(frozen=True)
class Command:
    intent: Intent
    id_kind: IdKind | None = None
    identifier: str | None = None
    language: str | None = None
    """The language the keyword was written in, for the reply when no subscriber is known."""
    proof: str | None = None
    """A Ukrainian account sign-up's meter number or EIC tail, as typed (spaces removed)."""


# Letters that look alike in Latin and Cyrillic, folded to one Latin skeleton.
_LOOKALIKES: Final = str.maketrans(
    {
        "А": "A",
        "В": "B",
        "Е": "E",
        "К": "K",
        "М": "M",
        "Н": "H",
        "О": "O",
        "Р": "P",
        "С": "C",
        "Т": "T",
        "Х": "X",
        "І": "I",
        "Ј": "J",
        "У": "Y",
        "Ѕ": "S",
        "Ї": "I",
        "Ё": "E",
    }
)
_DASHES: Final = str.maketrans({c: "-" for c in "‐‑‒–—―−"})

# keyword skeleton → (intent, language)
_KEYWORDS: Final[dict[str, tuple[Intent, str | None]]] = {}


def _add(words: tuple[str, ...], intent: Intent, language: str | None) -> None:
    for word in words:
        _KEYWORDS[_skeleton(word)] = (intent, language)


def _skeleton(word: str) -> str:
    return unicodedata.normalize("NFKC", word).upper().translate(_LOOKALIKES)


_add(("PRIJAVA", "PRIJAVI"), Intent.SUBSCRIBE, "sl")
_add(("ODJAVA", "ODJAVI"), Intent.UNSUBSCRIBE, "sl")
_add(("СТАРТ", "ПІДПИСКА", "ПІДПИСАТИСЯ", "ПІДПИСАТИСЬ"), Intent.SUBSCRIBE, "uk")
_add(("ВІДПИСКА", "ВІДПИСАТИСЯ", "ВІДПИСАТИСЬ"), Intent.UNSUBSCRIBE, "uk")
_add(("СТОП",), Intent.UNSUBSCRIBE, None)
_add(("STOP",), Intent.UNSUBSCRIBE, "en")
_add(("START",), Intent.SUBSCRIBE, "en")

_SI_MP: Final = re.compile(r"([1-9])\s?-?\s?([0-9]{6})")
_DIGITS: Final = re.compile(r"[0-9][0-9 ]*[0-9]|[0-9]")


def _near(word: str, known: str) -> bool:
    """One slip: a letter missing, extra, wrong, or two neighbours swapped."""
    if abs(len(word) - len(known)) > 1 or min(len(word), len(known)) < 4:
        return False
    if len(word) == len(known):
        diffs = [i for i, (a, b) in enumerate(zip(word, known, strict=True)) if a != b]
        if len(diffs) == 1:
            return True
        return (
            len(diffs) == 2
            and diffs[1] == diffs[0] + 1
            and word[diffs[0]] == known[diffs[1]]
            and word[diffs[1]] == known[diffs[0]]
        )
    short, long_ = sorted((word, known), key=len)
    return any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


def _keyword(word: str) -> tuple[Intent, str | None] | None:
    skeleton = _skeleton(word)
    if skeleton in _KEYWORDS:
        return _KEYWORDS[skeleton]
    close = {v for k, v in _KEYWORDS.items() if _near(skeleton, k)}
    return close.pop() if len(close) == 1 else None


def _identifier(text: str) -> tuple[IdKind, str] | None:
    """The one identifier in `text`, or None (none, or ambiguous)."""
    si = _SI_MP.fullmatch(text)
    if si:
        return IdKind.SI_METERING_POINT, f"{si[1]}-{si[2]}"
    digits = text.replace(" ", "")
    if digits.isascii() and digits.isdigit():
        if len(digits) == 12:
            return IdKind.BG_CLIENT, digits
        if len(digits) == 9:
            return IdKind.UA_ACCOUNT, digits
    return None


_NOISE: Final = re.compile(r"[.,;:!?\"'«»„“”()]+")

MIN_PROOF: Final = 4
"""Fewest letters and digits a proof has (an EIC tail is 5): fewer are more likely
the last group of a spaced client number ("300 000 000 001 START")."""


def _account_and_proof(words: list[str]) -> tuple[tuple[IdKind, str], str] | None:
    """ "123 456 789 UA-777002" → the account and the proof after it, or None."""
    for split in range(1, len(words)):
        ident = _identifier(" ".join(words[:split]))
        proof = "".join(words[split:])
        if ident and ident[0] is IdKind.UA_ACCOUNT and sum(c.isalnum() for c in proof) >= MIN_PROOF:
            return ident, proof
    return None


# A glued word split into runs: letters, digits with dashes, anything else alone.
_RUNS: Final = re.compile(r"[^\W\d_]+|[0-9-]+|\S")


def _glued_apart(words: list[str]) -> list[str]:
    """ "6-123456PRIJAVA" → ["6-123456", "PRIJAVA"]: split where letters meet digits."""
    runs = (run.strip("-") for word in words for run in _RUNS.findall(word))
    return [run for run in runs if run]


def parse(text: str) -> Command | None:
    """The command in an inbound SMS, or None when it is not one.

    Words are read as typed first, so a digit typed for a letter ("0DJAVA")
    stays a slip in the keyword; only when that yields nothing are glued
    words split where letters meet digits.
    """
    folded = unicodedata.normalize("NFKC", text).translate(_DASHES)
    folded = _NOISE.sub(" ", folded).strip()
    if not folded or len(folded) > 80:
        return None
    words = folded.split()
    command = _bill_check(words) or _command(words)
    if command is None:
        apart = _glued_apart(words)
        if apart != words:
            command = _bill_check(apart) or _command(apart)
    return command


def _command(words: list[str]) -> Command | None:
    found = [(i, _keyword(w)) for i, w in enumerate(words)]
    keywords = [(i, k) for i, k in found if k is not None]
    if len(keywords) > 1:
        # A proof can look like a keyword with a slip ("СТАРТ 000000000 0TAPT"): one
        # keyword written exactly wins over words that only come near one.
        exact = [(i, k) for i, k in keywords if _skeleton(words[i]) in _KEYWORDS]
        if len(exact) != 1:
            return None
        keywords = exact
    others = [w for i, w in enumerate(words) if not keywords or i != keywords[0][0]]
    rest = " ".join(others)
    ident = _identifier(rest) if rest else None
    proof = None
    if keywords and keywords[0][1][0] is Intent.SUBSCRIBE and len(others) > 1:
        with_proof = _account_and_proof(others)
        # Ukrainian words mean a Ukrainian account, even if the digits could be read otherwise.
        if with_proof and (ident is None or keywords[0][1][1] == "uk"):
            ident, proof = with_proof
    if rest and ident is None:
        return None
    if not keywords:
        if ident and ident[0] is IdKind.BG_CLIENT:
            return Command(Intent.SUBSCRIBE, ident[0], ident[1], "bg")
        return None
    intent, language = keywords[0][1]
    if ident is None:
        if intent is Intent.SUBSCRIBE and language in ("en", "uk"):
            return Command(Intent.START_ALL, language=language)
        if intent is Intent.UNSUBSCRIBE and language in (None, "en"):
            return Command(Intent.STOP_ALL, language=language)
        return None
    kind, value = ident
    if language is None:
        language = {IdKind.BG_CLIENT: "bg", IdKind.UA_ACCOUNT: "uk"}.get(kind, "sl")
    return Command(intent, kind, value, language, proof)


# --- Bill check (issue 14) -------------------------------------------------------------
# Kept apart from the sign-up grammar above: a bill keyword is never a sign-up word,
# and a text with one is read here only. "SMETKA 300000000001" (seeds 002 and 004,
# sent to 170077), or the keyword alone from a phone verified for one account.

_BILL_KEYWORDS: Final[dict[str, str]] = {}
"""keyword skeleton → language."""
for _language, _words in (
    ("bg", ("СМЕТКА", "SMETKA")),
    ("sl", ("RAČUN", "RACUN")),
    ("uk", ("РАХУНОК", "RAHUNOK")),
    ("en", ("BILL", "BALANCE")),
):
    for _word in _words:
        _BILL_KEYWORDS[_skeleton(_word)] = _language

_BILL_ACCOUNT: Final = re.compile(r"[0-9]{5,12}")
"""A client number of any utility: SI 5–10 digits, UA 9, BG 12."""


def _bill_keyword(word: str) -> str | None:
    skeleton = _skeleton(word)
    if skeleton in _BILL_KEYWORDS:
        return _BILL_KEYWORDS[skeleton]
    if _keyword(word) is not None:
        return None  # a sign-up word one slip from a bill word stays a sign-up word
    close = {language for known, language in _BILL_KEYWORDS.items() if _near(skeleton, known)}
    return close.pop() if len(close) == 1 else None


def _bill_check(words: list[str]) -> Command | None:
    """The keyword first or last, the client number (spaces allowed) or nothing beside it;
    or the keyword and a sign-up or leaving word (START, СТАРТ, PRIJAVA; STOP, СТОП,
    ODJAVA): bill information and payment reminders on or off."""
    if not words:
        return None
    for index in (0, len(words) - 1):
        language = _bill_keyword(words[index])
        if language is None:
            continue
        others = words[1:] if index == 0 else words[:-1]
        rest = "".join(others)
        if not rest:
            return Command(Intent.BILL_CHECK, language=language)
        if _BILL_ACCOUNT.fullmatch(rest):
            return Command(Intent.BILL_CHECK, identifier=rest, language=language)
        word = _keyword(others[0]) if len(others) == 1 else None
        if word is not None and word[0] is Intent.SUBSCRIBE:
            return Command(Intent.BILL_SUBSCRIBE, language=language)
        if word is not None and word[0] is Intent.UNSUBSCRIBE:
            return Command(Intent.BILL_UNSUBSCRIBE, language=language)
        return None
    return None
