"""Text folding for search keys: the same function builds the stored key
and the typed query, so "presernova" finds "Prešernova"."""

from __future__ import annotations

import unicodedata


def fold(text: str) -> str:
    """Case-fold, strip combining accents, collapse whitespace.

    Stripping marks also folds Cyrillic й→и and ї→і; that is harmless for a
    search key because the query goes through the same function.
    """
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.split())


def address_key(street: str, house: str, settlement: str) -> str:
    """The search key of an address: street first, as people type it."""
    return fold(f"{street} {house} {settlement}")


def prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix`.

    `col >= prefix AND col < prefix_upper_bound(prefix)` is a prefix match
    that a B-tree index answers on SQLite and PostgreSQL ("C" collation)
    alike, unlike LIKE, whose index use depends on collation settings.
    """
    if not prefix:
        raise ValueError("empty prefix")
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)
