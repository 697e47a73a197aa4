"""Text folding for search keys: the same function builds the stored key
and the typed query, so "presernova" finds "Prešernova"."""

from __future__ import annotations

import unicodedata
from functools import lru_cache


def fold(text: str) -> str:
    """Case-fold, strip combining accents, collapse whitespace.

    Stripping marks also folds Cyrillic й→и and ї→і; that is harmless for a
    search key because the query goes through the same function.
    """
    if text.isascii():
        return " ".join(text.lower().split())
    # NFKD before and after case-folding: compatibility forms such as
    # mathematical bold letters only become foldable once decomposed.
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


@lru_cache(maxsize=1 << 16)
def _fold_part(text: str) -> str:
    return fold(text)


def address_key(street: str, house: str, settlement: str) -> str:
    """The search key of an address: street first, as people type it.

    Imports build a million of these from a few thousand distinct streets
    and settlements, so each part's folding is cached.
    """
    return " ".join(filter(None, (_fold_part(street), fold(house), _fold_part(settlement))))


def name_terms(name: str) -> list[str]:
    """The search terms of a place's name: the folded name from each word on.

    "Nadzorništvo Kranj" → ["nadzornistvo kranj", "kranj"], so a prefix of
    any word finds it with one index range scan; the first term is the whole
    name. Duplicates are dropped ("Lipa Lipa" → ["lipa lipa", "lipa"]).
    """
    words = fold(name).split(" ")
    terms = (" ".join(words[i:]) for i in range(len(words)))
    return [term for term in dict.fromkeys(terms) if term]


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix`.

    `col >= prefix AND col < prefix_upper_bound(prefix)` is a prefix match
    that a B-tree index answers on SQLite and PostgreSQL ("C" collation)
    alike, unlike LIKE, whose index use depends on collation settings.
    """
    if not prefix:
        raise ValueError("empty prefix")
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
