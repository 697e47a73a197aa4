"""The houses of one street compressed: every house covered, never longer than
the plain list, the same output for the same input."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.address_list import (
    RANGE,
    SEPARATOR,
    Group,
    Item,
    Run,
    compress,
    houses_text,
    render,
)


def _span(first: str, last: str) -> list[str]:
    if first == last:
        return [first]
    if first.isdecimal():
        return [str(n) for n in range(int(first), int(last) + 1)]
    return [chr(c) for c in range(ord(first), ord(last) + 1)]


def expand(items: tuple[Item, ...]) -> list[str]:
    """Every house the structure stands for, in order (the test's own reading)."""
    houses: list[str] = []
    for item in items:
        if isinstance(item, Group):
            houses += [f"{item.head}{SEPARATOR}{rest}" for rest in expand(item.items)]
        else:
            for first, last in item.ranges:
                houses += [item.label + value for value in _span(first, last)]
    return houses


numbers = st.integers(1, 60).map(str)
letters = st.sampled_from("АБВГ")
bg_flats = st.builds(
    lambda block, entrance, flat: f"бл. {block}, вх. {entrance}, ап. {flat}",
    st.integers(1, 3),
    letters,
    numbers,
)
bg_entrances = st.builds(lambda block, entrance: f"бл. {block}, вх. {entrance}", numbers, letters)
ua_flats = st.builds(lambda house, flat: f"{house}, кв. {flat}", numbers, numbers)
plain = st.builds(lambda n, suffix: n + suffix, numbers, st.sampled_from(["", "", "a", "б"]))
houses_lists = st.lists(
    st.one_of(bg_flats, bg_entrances, ua_flats, plain, st.text(min_size=1, max_size=12)),
    unique=True,
    max_size=40,
)


@given(houses_lists)
def test_every_house_is_covered_exactly(houses: list[str]) -> None:
    assert sorted(expand(compress(houses))) == sorted(houses)


@given(houses_lists)
def test_never_longer_than_the_plain_list(houses: list[str]) -> None:
    assert len(houses_text(houses)) <= len(SEPARATOR.join(houses))


@given(houses_lists)
def test_the_same_houses_give_the_same_text(houses: list[str]) -> None:
    first = compress(houses)
    assert compress(list(houses)) == first
    assert render(first) == houses_text(houses)


def test_flats_of_one_entrance_name_the_block_and_entrance_once() -> None:
    flats = [f"бл. 569, вх. Б, ап. {n}" for n in (3, 4, 5, 9)]
    assert houses_text(flats) == "бл. 569, вх. Б, ап. 3-5, 9"
    assert compress(flats) == (
        Group("бл. 569", (Group("вх. Б", (Run("ап. ", (("3", "5"), ("9", "9"))),)),)),
    )


def test_entrances_and_houses_in_ranges_two_stay_a_list() -> None:
    assert houses_text(["бл. 7, вх. А", "бл. 7, вх. Б", "бл. 7, вх. В"]) == "бл. 7, вх. А-В"
    assert houses_text(["2", "3", "4", "7", "8", "10a"]) == "2-4, 7, 8, 10a"
    assert houses_text(["12, кв. 3", "12, кв. 4", "14"]) == "12, кв. 3, 4, 14"
    assert houses_text(["12", "12, кв. 3"]) == "12, 12, кв. 3"
    assert houses_text(["бл. 1, вх. А, ап. 1", "бл. 1, вх. Б, ап. 2"]) == (
        "бл. 1, вх. А, ап. 1, вх. Б, ап. 2"
    )
    assert RANGE not in houses_text(["9", "10"])  # not "9-10": a range needs three


def test_no_range_across_alphabets_or_leading_zeros() -> None:
    assert houses_text(["Я", "а", "б"]) == "Я, а, б"
    assert houses_text(["08", "09", "10"]) == "08, 09, 10"
    assert houses_text(["Y", "Z", "["]) == "Y, Z, ["


@given(st.one_of(bg_flats, bg_entrances, ua_flats, plain, st.text(min_size=1, max_size=30)))
def test_one_house_reads_as_written(house: str) -> None:
    """What `houses_text` returns at once for a single house (most subscribers have
    one) is what compressing it would give."""
    assert houses_text([house]) == render(compress([house])) == house
