"""SMS encoding, segment counting and GSM-7 transliteration.

A notice in Slovene, Ukrainian or Bulgarian contains letters outside the GSM
7-bit default alphabet, which forces the whole message into UCS-2: 70 instead
of 160 characters per SMS, 67 instead of 153 per part of a long one. The
preview shows that (and the price), and `transliterate` offers a GSM-7 text
so a long notice costs a third as many segments.

Alphabet: 3GPP TS 23.038 §6.2.1 (GSM 7 bit default alphabet and its
extension table). Position 0x09 is taken as the spec's capital "Ç"; Unicode's
GSM0338.TXT maps it to small "ç" instead, so a "ç" is counted as UCS-2 (the
expensive side) rather than risking a gateway that cannot map it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal

Encoding = Literal["GSM-7", "UCS-2"]

GSM7_BASIC: Final[frozenset[str]] = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ"  # 0x1B (escape) is not a character
    "ÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
"""The 127 characters of the GSM 7 bit default alphabet, one septet each."""

GSM7_EXTENSION: Final[frozenset[str]] = frozenset("\f^{}\\[~]|€")
"""Extension-table characters: escape (0x1B) + code, two septets each."""

_GSM7: Final[frozenset[str]] = GSM7_BASIC | GSM7_EXTENSION

GSM7_SINGLE: Final = 160
GSM7_MULTI: Final = 153  # 7 septets go to the concatenation header
UCS2_SINGLE: Final = 70
UCS2_MULTI: Final = 67  # 6 octets of header = 3 UTF-16 units


@dataclass(frozen=True)
class SmsInfo:
    """What a text costs as an SMS, for the preview and the cost estimate."""

    encoding: Encoding
    characters: int
    units: int
    segments: int
    per_segment: int
    non_gsm: tuple[str, ...]


def _gsm_costs(text: str) -> Iterator[int]:
    for ch in text:
        yield 2 if ch in GSM7_EXTENSION else 1


def _ucs2_costs(text: str) -> Iterator[int]:
    """UTF-16 code units per indivisible piece (a surrogate pair is one piece).

    Astral characters cost 2; an already split pair of surrogate code points
    (possible in a Python str) is kept together as well.
    """
    i, n = 0, len(text)
    while i < n:
        code = ord(text[i])
        if code > 0xFFFF:
            yield 2
        elif 0xD800 <= code <= 0xDBFF and i + 1 < n and 0xDC00 <= ord(text[i + 1]) <= 0xDFFF:
            i += 1
            yield 2
        else:
            yield 1
        i += 1


def _pack(costs: list[int], capacity: int) -> int:
    """Segments needed when no piece may straddle a boundary.

    An escape + character or a surrogate pair split across two parts shows
    as garbage on the phone, so a piece that does not fit moves whole to the
    next part; that can cost one more segment than plain division says.
    """
    segments, fill = 1, 0
    for cost in costs:
        if fill + cost > capacity:
            segments += 1
            fill = cost
        else:
            fill += cost
    return segments


_WIDE = re.compile("[\ud800-\udfff\U00010000-\U0010ffff]")


def analyse(text: str) -> SmsInfo:
    """Encoding, length in units and segments of `text` as one SMS.

    An empty text is 0 segments: there is nothing to send or pay for.
    Fan-out calls this for every message, so texts whose pieces all cost
    one unit (no escapes, no surrogates: nearly all) skip the packing.
    """
    outside = set(text) - _GSM7
    non_gsm = tuple(sorted(outside, key=text.index))
    encoding: Encoding
    if non_gsm:
        encoding, single, multi = "UCS-2", UCS2_SINGLE, UCS2_MULTI
        uniform = _WIDE.search(text) is None
    else:
        encoding, single, multi = "GSM-7", GSM7_SINGLE, GSM7_MULTI
        uniform = not any(ch in text for ch in GSM7_EXTENSION)
    if uniform:
        units = len(text)
        packed = -(-units // multi)
    else:
        costs = list(_ucs2_costs(text) if non_gsm else _gsm_costs(text))
        units = sum(costs)
        packed = _pack(costs, multi)
    if units <= single:
        segments, per_segment = (1 if units else 0), single
    else:
        segments, per_segment = packed, multi
    return SmsInfo(
        encoding=encoding,
        characters=len(text),
        units=units,
        segments=segments,
        per_segment=per_segment,
        non_gsm=non_gsm,
    )


def estimate_cost(segments: int, price_per_segment: Decimal) -> Decimal:
    """Price of one message; exact Decimal, rounding is the display's job."""
    if segments < 0:
        raise ValueError(f"segments must not be negative, got {segments}")
    if not price_per_segment.is_finite() or price_per_segment < 0:
        raise ValueError(
            f"price per segment must be a non-negative amount, got {price_per_segment}"
        )
    return price_per_segment * segments


# --- transliteration ---------------------------------------------------------

TYPOGRAPHIC: Final[dict[str, str]] = {
    **dict.fromkeys("“”„‟«»″", '"'),
    **dict.fromkeys("‘’‚‛′ʼ`", "'"),
    **dict.fromkeys("‐‑‒–—―−•", "-"),
    "…": "...",
    # no-break, narrow, thin, figure and other fixed-width spaces, and tab
    **dict.fromkeys(
        "\u00a0\u202f\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007"
        "\u2008\u2009\u200a\u205f\u3000\t",
        " ",
    ),
    # invisible: soft hyphen, zero-width (non-)joiner/space, BOM, emoji selectors
    **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff\ufe0e\ufe0f", ""),
}
"""Typographic characters templates pick up from word processors, with the
GSM-7 text a phone would show for them (any language)."""

# Cabinet of Ministers of Ukraine, resolution No. 55 of 27 January 2010
# ("Про впорядкування транслітерації українського алфавіту латиницею").
_UK: Final[dict[str, str]] = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ie",
    "ж": "zh", "з": "z", "и": "y", "і": "i", "ї": "i", "й": "i", "к": "k", "л": "l",
    "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ь": "",
    "ю": "iu", "я": "ia",
}  # fmt: skip
_UK_WORD_START: Final[dict[str, str]] = {"є": "ye", "ї": "yi", "й": "y", "ю": "yu", "я": "ya"}
_UK_ONLY: Final[frozenset[str]] = frozenset("єїіґЄЇІҐ")
_APOSTROPHES: Final[frozenset[str]] = frozenset("'’ʼ‘`")

# Bulgarian Transliteration Act (Закон за транслитерацията, State Gazette
# 19/2009), art. 3 table: the "Streamlined System".
_BG: Final[dict[str, str]] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z",
    "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p",
    "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts", "ч": "ch",
    "ш": "sh", "щ": "sht", "ъ": "a", "ь": "y", "ю": "yu", "я": "ya",
}  # fmt: skip
# The Act's one exception: the name of the state (whole word only).
_BULGARIA: Final = re.compile(r"(?<!\w)(?:България|БЪЛГАРИЯ)(?!\w)")

# Letters neither table has (a Russian or Ukrainian word in the other
# language's text): a readable guess beats "?".
_CYRILLIC_EXTRA: Final[dict[str, str]] = {
    "ё": "yo", "ы": "y", "э": "e", "ъ": "", "і": "i", "ї": "yi", "є": "ye", "ґ": "g",
}  # fmt: skip

# Latin letters NFKD does not take apart. đ→dz as the project specifies.
_LATIN: Final[dict[str, str]] = {"đ": "dz", "ł": "l", "œ": "oe", "ı": "i"}

_Rule = Callable[[str, str, str, str], str | None]
"""(lowercase letter, previous char, char before that, next char) → Latin."""


def _is_cyrillic_letter(ch: str) -> bool:
    return "\u0400" <= ch <= "\u04ff" and ch.isalpha()


def _word_start(prev: str, prev2: str) -> bool:
    # An apostrophe inside a word (п'ять, Знам'янка) does not start a new one.
    return not prev.isalpha() and not (prev in _APOSTROPHES and prev2.isalpha())


def _uk_rule(low: str, prev: str, prev2: str, nxt: str) -> str | None:
    if low == "г" and prev.lower() == "з":
        return "gh"  # "зг" → "zgh", unlike "ж" → "zh"
    if low in _UK_WORD_START and _word_start(prev, prev2):
        return _UK_WORD_START[low]
    return _UK.get(low, _CYRILLIC_EXTRA.get(low))


def _bg_rule(low: str, prev: str, prev2: str, nxt: str) -> str | None:
    if low == "я" and prev.lower() == "и" and not nxt.isalpha():
        return "a"  # word-final "-ия" → "-ia": София → Sofia
    return _BG.get(low, _CYRILLIC_EXTRA.get(low))


def _cased(source: str, latin: str, prev: str, nxt: str) -> str:
    """Carry the source letter's case over to a (possibly multi-letter) output.

    A capital inside an all-caps word gives all caps (ЩО → SHCHO), otherwise
    only the first letter is capital (Що → Shcho).
    """
    if not latin or not source.isupper():
        return latin
    caps = nxt.isupper() if nxt.isalpha() else prev.isalpha() and prev.isupper()
    return latin.upper() if caps else latin.capitalize()


def _fallback(ch: str) -> str:
    """Strip accents (č → c, â → a); whatever is left outside GSM-7 is "?"."""
    decomposed = unicodedata.normalize("NFKD", ch)
    out = []
    for part in decomposed:
        if unicodedata.combining(part):
            continue
        if part in _GSM7:
            out.append(part)
        else:
            out.append(TYPOGRAPHIC.get(part, " " if part.isspace() else "?"))
    return "".join(out)


LANGUAGES: Final = ("sl", "uk", "bg", "en")


def transliterate(text: str, language: str) -> str:
    """Rewrite `text` in pure GSM-7 so a long notice keeps 160/153 per segment.

    Ukrainian follows the official national transliteration (Cabinet of
    Ministers of Ukraine resolution No. 55 of 27 Jan 2010): positional
    Ye/ie, Yi/i, Y/i, Yu/iu, Ya/ia, "зг" → "zgh", ь and the apostrophe are
    dropped. Bulgarian follows the Streamlined System of the Transliteration
    Act 2009 (Щ → Sht, Ъ → A, word-final "-ия" → "-ia", България → Bulgaria).
    Slovene (and any Latin text) loses its diacritics: č→c, š→s, ž→z, ć→c,
    đ→dz. Cyrillic in a Slovene or English text uses the Ukrainian rules if
    it has a letter only Ukrainian uses, else the Bulgarian ones.
    Typographic quotes, dashes, ellipsis and special spaces become their
    GSM-7 look-alikes; anything else outside GSM-7 becomes "?". Characters
    already in GSM-7 are never changed, so a GSM-7 text comes back as is.
    """
    if language not in LANGUAGES:
        raise ValueError(f"unknown language {language!r}; expected one of {', '.join(LANGUAGES)}")
    text = unicodedata.normalize("NFC", text)  # й, not и + combining breve
    if language in ("uk", "bg"):
        system = language
    else:
        system = "uk" if any(ch in _UK_ONLY for ch in text) else "bg"
    rule: _Rule = _uk_rule if system == "uk" else _bg_rule
    if system == "bg":
        text = _BULGARIA.sub(lambda m: "Bulgaria" if m[0][1].islower() else "BULGARIA", text)

    out: list[str] = []
    n = len(text)
    for i, ch in enumerate(text):
        prev = text[i - 1] if i else ""
        prev2 = text[i - 2] if i > 1 else ""
        nxt = text[i + 1] if i + 1 < n else ""
        if (
            system == "uk"
            and ch in _APOSTROPHES
            and _is_cyrillic_letter(prev)
            and _is_cyrillic_letter(nxt)
        ):
            continue  # the apostrophe is not transliterated: п'ять → piat
        if ch in _GSM7:
            out.append(ch)
        elif ch in TYPOGRAPHIC:
            out.append(TYPOGRAPHIC[ch])
        elif _is_cyrillic_letter(ch):
            latin = rule(ch.lower(), prev, prev2, nxt)
            out.append("?" if latin is None else _cased(ch, latin, prev, nxt))
        elif ch.lower() in _LATIN:
            out.append(_cased(ch, _LATIN[ch.lower()], prev, nxt))
        else:
            out.append(_fallback(ch))
    return "".join(out)
