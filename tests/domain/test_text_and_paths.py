"""Search-key folding, prefix ranges and materialized paths."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.selection import Selection
from dispatch_tui.domain.text import address_key, fold, name_terms, prefix_upper_bound
from dispatch_tui.domain.tree_path import (
    ancestor_ids,
    child_path,
    common_path,
    path_of,
    subtree_range,
)


def test_fold_examples() -> None:
    assert fold("  Prešernova   ULICA ") == "presernova ulica"
    assert fold("вул. Минайська") == "вул. минаиська"
    assert address_key("Prešernova ulica", "5a", "Kranj") == "presernova ulica 5a kranj"


@given(st.text())
def test_fold_is_idempotent(text: str) -> None:
    assert fold(fold(text)) == fold(text)


@given(st.text(min_size=1), st.text())
def test_prefix_range_is_exactly_startswith(prefix: str, other: str) -> None:
    upper = prefix_upper_bound(prefix)
    for candidate in (prefix + other, other, prefix):
        assert (prefix <= candidate < upper) == candidate.startswith(prefix)


def test_prefix_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty prefix"):
        prefix_upper_bound("")


@given(
    st.lists(st.integers(1, 10**9), min_size=1, max_size=6),
    st.lists(st.integers(1, 10**9), min_size=1, max_size=6),
)
def test_subtree_range_holds_exactly_the_descendants(chain: list[int], other: list[int]) -> None:
    path = None
    for node_id in chain:
        path = child_path(path, node_id)
    assert path is not None
    assert ancestor_ids(path) == chain
    other_path = None
    for node_id in other:
        other_path = child_path(other_path, node_id)
    assert other_path is not None
    lo, hi = subtree_range(path)
    is_descendant = other[: len(chain)] == chain
    assert (lo <= other_path < hi) == is_descendant


def test_empty_selection() -> None:
    assert Selection().is_empty
    assert not Selection(metering_points=frozenset({1})).is_empty
    assert Selection(excluded_nodes=frozenset({1})).is_empty


@given(st.text(), st.text(), st.text())
def test_address_key_equals_folding_the_whole_address(street: str, house: str, town: str) -> None:
    assert address_key(street, house, town) == fold(f"{street} {house} {town}")


def test_name_terms_examples() -> None:
    assert name_terms("Nadzorništvo Kranj") == ["nadzornistvo kranj", "kranj"]
    assert name_terms("ж.к. Люлин") == ["ж.к. люлин", "люлин"]
    assert name_terms("Lipa  Lipa") == ["lipa lipa", "lipa"]
    assert name_terms("   ") == []


@given(st.text())
def test_name_terms_start_at_each_word_of_the_folded_name(name: str) -> None:
    folded = fold(name)
    terms = name_terms(name)
    assert terms == ([folded, *terms[1:]] if folded else [])
    assert len(terms) == len(set(terms))
    for term in terms:
        assert folded.endswith(term) and (term == folded or folded.endswith(" " + term))
    words = folded.split(" ") if folded else []
    for i in range(len(words)):
        assert " ".join(words[i:]) in terms


paths = st.lists(st.integers(1, 10**6), min_size=1, max_size=5).map(path_of)


@given(st.lists(paths, min_size=1, max_size=8))
def test_common_path_of_the_extremes_is_above_every_path(many: list[str]) -> None:
    common = common_path(min(many), max(many))
    chains = [ancestor_ids(p) for p in many]
    shared = 0
    while all(len(c) > shared for c in chains) and len({c[shared] for c in chains}) == 1:
        shared += 1
    assert common == path_of(chains[0][:shared])
    assert all(p.startswith(common) for p in many)


def test_path_of() -> None:
    assert path_of([12, 340]) == "/12/340/" == child_path(child_path(None, 12), 340)
    assert path_of([]) == ""
