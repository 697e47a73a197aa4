"""The houses of one street, written once each part: "бл. 569, вх. Б, ап. 3-5".

A house is written as components from the largest to the smallest, joined
by ", " ("бл. 569, вх. Б, ап. 3", "12, кв. 4", "18"). Houses that share
leading components name them once, and the last components under one head
that share a label ("ап. ", "вх. ", none) list only their values, three or
more consecutive ones as a range ("ап. 3-5", "вх. А-В", "2-4"). On a paid
channel this is what keeps a Bulgarian notice for three flats of one
entrance within three UCS-2 segments.

The text is never longer than the plain list ", ".join(houses), and it
depends only on the order of the houses it is given (templates sorts them).

Pure: standard library only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

SEPARATOR: Final = ", "
RANGE: Final = "-"
"""GSM-7, unlike "–": a transliterated notice stays in the 7-bit alphabet."""
MIN_RANGE: Final = 3
"""Shorter runs stay a list: "ап. 3, 4" reads better than "ап. 3-4" and costs one more."""
_LABELLED: Final = re.compile(r"(.*\s)(\S+)")


@dataclass(frozen=True)
class Run:
    """Last components with one label: "ап. " and (("3", "5"), ("9", "9")) is "ап. 3-5, 9"."""

    label: str
    ranges: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Group:
    """Houses sharing a leading component: "бл. 569" and then what follows it."""

    head: str
    items: tuple[Item, ...]


Item = Run | Group


def compress(houses: Sequence[str]) -> tuple[Item, ...]:
    """The houses (distinct, in display order) as groups and runs."""
    return _items([tuple(house.split(SEPARATOR)) for house in houses])


def render(items: Sequence[Item]) -> str:
    return SEPARATOR.join(_render(item) for item in items)


def houses_text(houses: Sequence[str]) -> str:
    """The houses of one street as they appear in a notice (one house as it is: most
    subscribers have one, and fan-out writes this for every message)."""
    if len(houses) == 1:
        return houses[0]
    return render(compress(houses))


def _items(paths: list[tuple[str, ...]]) -> tuple[Item, ...]:
    items: list[Item] = []
    leaves: list[str] = []

    def flush() -> None:
        items.extend(_runs(leaves))
        leaves.clear()

    i = 0
    while i < len(paths):
        head = paths[i][0]
        j = i
        while j < len(paths) and paths[j][0] == head:
            j += 1
        rests = [path[1:] for path in paths[i:j]]
        if () in rests:  # the head is a house itself ("12" beside "12, кв. 3")
            leaves.append(head)
        deeper = [rest for rest in rests if rest]
        if deeper:
            flush()
            items.append(Group(head, _items(deeper)))
        i = j
    flush()
    return tuple(items)


def _split(component: str) -> tuple[str, str]:
    """("ап. ", "12") for "ап. 12"; ("", "12a") for "12a"."""
    match = _LABELLED.fullmatch(component)
    return (match[1], match[2]) if match else ("", component)


def _runs(leaves: list[str]) -> list[Run]:
    """Consecutive leaves with one label become one run; consecutive values a range."""
    runs: list[Run] = []
    for leaf in leaves:
        label, value = _split(leaf)
        if runs and runs[-1].label == label:
            runs[-1] = Run(label, (*runs[-1].ranges, (value, value)))
        else:
            runs.append(Run(label, ((value, value),)))
    return [Run(run.label, _ranges(run.ranges)) for run in runs]


def _next(value: str) -> str | None:
    """The value that follows `value` in a range: 9 → 10, А → Б; None if none does."""
    if value.isdecimal() and value.isascii() and str(int(value)) == value:
        return str(int(value) + 1)
    if len(value) == 1 and value.isalpha():
        following = chr(ord(value) + 1)
        return following if following.isalpha() and following.isupper() == value.isupper() else None
    return None


def _ranges(singles: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    spans: list[list[str]] = []
    for value, _ in singles:
        if spans and _next(spans[-1][-1]) == value:
            spans[-1].append(value)
        else:
            spans.append([value])
    out: list[tuple[str, str]] = []
    for span in spans:
        if len(span) >= MIN_RANGE:
            out.append((span[0], span[-1]))
        else:
            out.extend((value, value) for value in span)
    return tuple(out)


def _render(item: Item) -> str:
    if isinstance(item, Group):
        return f"{item.head}{SEPARATOR}{render(item.items)}"
    values = (first if first == last else f"{first}{RANGE}{last}" for first, last in item.ranges)
    return item.label + SEPARATOR.join(values)
