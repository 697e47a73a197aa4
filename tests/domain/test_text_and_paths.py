"""Search-key folding, prefix ranges and materialized paths."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain.selection import Selection
from dispatch_tui.domain.text import address_key, fold, prefix_upper_bound
from dispatch_tui.domain.tree_path import ancestor_ids, child_path, subtree_range


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
