"""The app on a small imported network, driven by Pilot: the tree loads
lazily, page by page, by keyboard alone."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import Engine

from dispatch_tui.app import DispatchApp
from dispatch_tui.widgets import network_tree
from dispatch_tui.widgets.network_tree import NetworkTree
from tests.storage.csvdata import load_all


async def test_tree_expands_lazily_by_keyboard(engine: Engine, tmp_path: Path) -> None:
    load_all(engine, tmp_path)
    app = DispatchApp(engine, sandbox=True)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.query_one(NetworkTree)
        await app.workers.wait_for_complete()
        await pilot.pause()
        names = [str(child.label).split("  ")[0] for child in tree.root.children]
        assert names == sorted(names) and len(names) == 3
        assert all(not child.children for child in tree.root.children)
        first = tree.root.children[0]
        assert tree.cursor_node is first
        await pilot.press("space")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert [str(c.label).split("  ")[0] for c in first.children]
        assert "SANDBOX" in app.sub_title


async def test_more_entry_loads_the_next_page(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    load_all(engine, tmp_path)
    monkeypatch.setattr(network_tree, "PAGE", 1)
    app = DispatchApp(engine, sandbox=False)
    async with app.run_test(size=(80, 24)) as pilot:
        tree = app.query_one(NetworkTree)
        await app.workers.wait_for_complete()
        await pilot.pause()
        node = next(c for c in tree.root.children if "Gorenjska" in str(c.label))
        for _level in ("utility", "region", "substation", "feeder"):
            tree.move_cursor(node)
            await pilot.press("space")
            await app.workers.wait_for_complete()
            await pilot.pause()
            feeder, node = node, node.children[0]
        labels = [str(c.label) for c in feeder.children]
        assert len(labels) == 2 and labels[1] == "… 1 more"
        tree.move_cursor(feeder.children[1])
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.pause()
        labels = [str(c.label).split("  ")[0] for c in feeder.children]
        assert labels == ["TP Labore", "TP Stražišče 3"]
