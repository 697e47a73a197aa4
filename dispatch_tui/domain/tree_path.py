"""Materialized paths of the network tree: "/12/340/5600/".

Every descendant of a node has a path starting with the node's path, so a
subtree is the half-open range [path, upper_bound(path)).
"""

from __future__ import annotations

from dispatch_tui.domain.text import prefix_upper_bound

SEPARATOR = "/"


def child_path(parent_path: str | None, node_id: int) -> str:
    return f"{parent_path or SEPARATOR}{node_id}{SEPARATOR}"


def subtree_range(path: str) -> tuple[str, str]:
    """[low, high) bounds of every path under (and including) `path`."""
    return path, prefix_upper_bound(path)


def ancestor_ids(path: str) -> list[int]:
    """Node ids from the root down to the node itself."""
    return [int(part) for part in path.strip(SEPARATOR).split(SEPARATOR) if part]


def common_path(low: str, high: str) -> str:
    """The path of the lowest node above both paths ("" if only the root is).

    The lowest node above a set of paths is the one above its smallest and
    largest path, so a settlement's node is found from MIN(path), MAX(path).
    """
    shared = []
    for a, b in zip(ancestor_ids(low), ancestor_ids(high), strict=False):
        if a != b:
            break
        shared.append(a)
    return path_of(shared)


def path_of(ids: list[int]) -> str:
    """The path of the node reached by `ids` from the root ("" for none)."""
    return "".join(f"{SEPARATOR}{node_id}" for node_id in ids) + SEPARATOR if ids else ""


def is_under(path: str, ancestor: str) -> bool:
    """Whether `path` is `ancestor` or below it."""
    return path.startswith(ancestor)


def outermost(paths: set[str]) -> set[str]:
    """The paths not under another of them: a subtree inside another adds nothing to it."""
    return {
        path
        for path in paths
        if not any(path_of(ids) in paths for ids in _proper_prefixes(ancestor_ids(path)))
    }


def _proper_prefixes(ids: list[int]) -> list[list[int]]:
    return [ids[:k] for k in range(1, len(ids))]
