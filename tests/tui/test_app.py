"""The app on a small imported network, driven by Pilot: the tree loads
lazily, page by page, by keyboard alone."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import DataTable, Header, Input

from dispatch_tui.app import SANDBOX_LABEL, database_forms, fit_parts
from dispatch_tui.screens.help import HelpScreen
from dispatch_tui.screens.unknown_user import UnknownUserScreen
from dispatch_tui.widgets import network_tree
from dispatch_tui.widgets.network_tree import NetworkTree, count
from tests.tui.conftest import make_app, workers_done


async def settle(app: App[None], pilot: Pilot[None]) -> None:
    """Let every database worker finish and the screen catch up. Inputs stop
    blinking: a snapshot taken half a second later would catch the cursor's
    other phase."""
    for _ in range(3):
        await workers_done(app)
        await pilot.pause()
    for field in app.screen.query(Input):
        field.cursor_blink = False


async def test_unknown_user_is_refused(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "stranger")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, UnknownUserScreen)
        assert "'stranger' is not a dispatch-tui user" in str(
            app.screen.query_one("#message").render()
        )
        await pilot.press("f3")
        assert isinstance(app.screen, UnknownUserScreen)
        await pilot.press("q")
    assert app.return_code == 0


async def test_tree_expands_lazily_by_keyboard(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        tree = app.screen.query_one(NetworkTree)
        await settle(app, pilot)
        names = [str(child.label).split("  ")[0] for child in tree.root.children]
        assert names == sorted(names) and len(names) == 3
        assert all(not child.children for child in tree.root.children)
        first = tree.root.children[0]
        assert tree.cursor_node is first
        await pilot.press("enter")
        await settle(app, pilot)
        assert [str(c.label).split("  ")[0] for c in first.children]
        assert "SANDBOX" in app.sub_title


async def test_more_entry_loads_the_next_page(
    tui_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(network_tree, "PAGE", 1)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        tree = app.screen.query_one(NetworkTree)
        await settle(app, pilot)
        node = next(c for c in tree.root.children if "Gorenjska" in str(c.label))
        for _level in ("utility", "region", "substation", "feeder"):
            tree.move_cursor(node)
            await pilot.press("enter")
            await settle(app, pilot)
            feeder, node = node, node.children[0]
        labels = [str(c.label) for c in feeder.children]
        assert len(labels) == 2 and labels[1] == "… 1 more"
        tree.move_cursor(feeder.children[1])
        await pilot.press("enter")
        await settle(app, pilot)
        labels = [str(c.label).split("  ")[0] for c in feeder.children]
        assert labels == ["TP Labore", "TP Stražišče 3"]


async def test_screen_keys_are_palette_commands_and_help_lists_them(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        titles = [command.title for command in app.get_system_commands(app.screen)]
        for wanted in ("Draft outage", "Search", "Outages", "Approvals", "Audit", "Help", "Quit"):
            assert wanted in titles, titles
        await pilot.press("f1")
        await settle(app, pilot)
        assert isinstance(app.screen, HelpScreen)
        table = app.screen.query_one(DataTable)
        described = [str(table.get_row_at(i)[1]) for i in range(table.row_count)]
        assert {"Draft outage", "Search", "Select/exclude"} <= set(described)
        # This screen's keys first, the global ones next, Textual's generic keys last.
        ours = described.index("Everywhere")
        assert described[0] == "This screen"
        assert {"Draft outage", "Search", "Select/exclude"} <= set(described[:ours])
        assert {"Outages", "Help", "Quit"} <= set(described[ours:])
        assert described.index("Quit") < described.index("In the focused list or field")
        assert not any("Scroll" in does or "Copy" in does for does in described[:ours])
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


def test_the_header_keeps_sandbox_and_gives_way_with_the_rest() -> None:
    """At 80 columns the database goes first, then the engine; SANDBOX never."""
    parts = [(SANDBOX_LABEL,), ("ana (dispatcher)",), ("engine: running", "")]
    parts.append(database_forms("sqlite:////home/ana/.local/share/dispatch-tui/demo.sqlite"))
    assert fit_parts(parts, 200).endswith(
        " · sqlite:////home/ana/.local/share/dispatch-tui/demo.sqlite"
    )
    assert fit_parts(parts, 62) == "SANDBOX SMS · ana (dispatcher) · engine: running · demo.sqlite"
    assert fit_parts(parts, 40) == "SANDBOX SMS · ana (dispatcher)"
    assert fit_parts(parts, 5) == "SANDBOX SMS · ana (dispatcher)"


async def test_sandbox_is_in_the_header_on_a_screen_with_its_own_subtitle(
    tui_engine: Engine,
) -> None:
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        app.screen.sub_title = "Preview — Zamenjava TP"
        await pilot.pause()
        shown = app.screen.query_one(Header).format_title().plain
        assert shown.startswith("dispatch-tui — SANDBOX SMS · Preview — Zamenjava TP")


def test_tree_counts_stay_short() -> None:
    """Five characters at most, so deep nodes' counts are not cut at 80 columns."""
    assert [count(n) for n in (7, 9_999, 12_345, 845_120, 1_234_567)] == [
        "7",
        "9,999",
        "12.3k",
        "845k",
        "1.2M",
    ]
