"""A dispatcher selects part of the network, drafts an outage and submits it;
bad dates and empty selections get clear messages; search jumps to a
metering point; a viewer cannot draft."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from textual.widgets import Input, OptionList, Static

from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.dialogs.search import SearchDialog
from dispatch_tui.screens import network as network_screen
from dispatch_tui.screens.network import NetworkScreen
from dispatch_tui.screens.outage_form import OutageFormScreen
from dispatch_tui.screens.preview import PreviewScreen
from dispatch_tui.storage import outages
from dispatch_tui.widgets.network_tree import NetworkTree
from tests.tui.conftest import fill_form, make_app
from tests.tui.test_app import settle


def child(node, text: str):  # type: ignore[no-untyped-def]
    return next(c for c in node.children if text in str(c.label))


async def open_gorenjska(app, pilot):  # type: ignore[no-untyped-def]
    await settle(app, pilot)
    tree = app.screen.query_one(NetworkTree)
    eg = child(tree.root, "Gorenjska")
    tree.move_cursor(eg)
    await pilot.press("enter")
    await settle(app, pilot)
    return tree, eg


async def test_draft_and_submit(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        tree, eg = await open_gorenjska(app, pilot)
        region = eg.children[0]
        tree.move_cursor(region)
        await pilot.press("space")
        await settle(app, pilot)
        assert "[+]" in str(region.label)
        summary = str(app.screen.query_one("#summary", Static).render())
        assert "Affected metering points: 3" in summary and "Subscribers: 2" in summary
        await pilot.press("d")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, OutageFormScreen)
        fill_form(form, start="2031-03-30 02:30", end="2031-03-30 01:00")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        errors = str(form.query_one("#errors", Static).render())
        assert "does not exist in Europe/Ljubljana" in errors
        form.query_one("#start", Input).value = "2031-04-01 08:00"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        assert "end: must be after the start" in str(form.query_one("#errors", Static).render())
        form.query_one("#end", Input).value = "2031-04-01 12:00"
        await pilot.press("f7")
        await settle(app, pilot)
        assert isinstance(app.screen, NetworkScreen)
    with tui_engine.connect() as conn:
        rows, total = outages.list_outages(conn)
    assert total == 1
    row = rows[0]
    assert (row.status, row.created_by, row.affected_mps) == ("submitted", "ana", 3)
    assert row.starts_at.isoformat() == "2031-04-01T06:00:00+00:00"


async def test_empty_selection_is_explained(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("d")
        await settle(app, pilot)
        assert isinstance(app.screen, NetworkScreen)
        assert any("Select the affected part" in n.message for n in app._notifications)


async def test_exclusion_and_one_utility(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        tree, eg = await open_gorenjska(app, pilot)
        region = eg.children[0]
        tree.move_cursor(region)
        await pilot.press("space")
        for _ in range(3):
            tree.move_cursor(region)
            await pilot.press("enter")
            await settle(app, pilot)
            region = region.children[0]
        station = region
        tree.move_cursor(station)
        await pilot.press("space")
        await settle(app, pilot)
        assert "[-]" in str(station.label)
        screen = app.screen
        assert isinstance(screen, NetworkScreen)
        assert len(screen.selection.excluded_nodes) == 1
        other = child(tree.root, "Електрохолд")
        tree.move_cursor(other)
        await pilot.press("enter")
        await settle(app, pilot)
        tree.move_cursor(other.children[0])
        await pilot.press("space")
        await settle(app, pilot)
        assert any("one utility" in n.message for n in app._notifications)
        await pilot.press("c")
        await settle(app, pilot)
        assert screen.selection.is_empty


async def test_search_jumps_to_the_metering_point(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await settle(app, pilot)
        assert isinstance(app.screen, SearchDialog)
        await pilot.press(*"labore 12")
        await settle(app, pilot)
        await pilot.press("enter")
        await settle(app, pilot)
        tree = app.screen.query_one(NetworkTree)
        assert tree.cursor_node is not None
        assert "6-100003" in str(tree.cursor_node.label)
        await pilot.press("d")
        await settle(app, pilot)
        assert isinstance(app.screen, NetworkScreen)


async def test_search_finds_a_feeder_by_name_and_jumps_to_it(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        await pilot.press("slash")
        await settle(app, pilot)
        await pilot.press(*"strazisce")
        await settle(app, pilot)
        results = app.screen.query_one(OptionList)
        rows = [str(results.get_option_at_index(i).prompt) for i in range(results.option_count)]
        assert rows == [
            "feeder: Izvod Stražišče, EG-R1-S1-F1 · 3 MP",
            "station: TP Stražišče 3, EG-TP1 · 2 MP",
        ]
        await pilot.press("enter")
        await settle(app, pilot)
        tree = app.screen.query_one(NetworkTree)
        feeder = tree.cursor_node
        assert feeder is not None and "Izvod Stražišče" in str(feeder.label)
        assert not feeder.is_expanded
        await pilot.press("space")
        await settle(app, pilot)
        assert app.screen.selection.nodes == {feeder.data.id}


async def test_a_failing_database_call_shows_a_notice(
    tui_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object) -> None:
        raise RuntimeError("database is locked")

    monkeypatch.setattr(network_screen, "affected_counts", broken)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        tree, eg = await open_gorenjska(app, pilot)
        tree.move_cursor(eg.children[0])
        await pilot.press("space")
        await settle(app, pilot)
        assert any("database is locked" in n.message for n in app._notifications)
        assert isinstance(app.screen, NetworkScreen)


async def test_edit_a_saved_draft_from_the_outages_list(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        tree, eg = await open_gorenjska(app, pilot)
        tree.move_cursor(eg.children[0])
        await pilot.press("space", "d")
        await settle(app, pilot)
        form = app.screen
        fill_form(form, title="Prvi osnutek")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
        await pilot.press("f3")
        await settle(app, pilot)
        await pilot.press("e")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, OutageFormScreen)
        assert form.query_one("#start", Input).value == "2031-04-01 08:00"
        form.query_one("#title", Input).value = "Popravljen osnutek"
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    with tui_engine.connect() as conn:
        rows, total = outages.list_outages(conn)
    assert total == 1 and rows[0].title == "Popravljen osnutek" and rows[0].status == "draft"


async def test_preview_from_the_form(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        tree, eg = await open_gorenjska(app, pilot)
        tree.move_cursor(eg.children[0])
        await pilot.press("space", "d")
        await settle(app, pilot)
        form = app.screen
        fill_form(form)
        await pilot.press("f6")
        await settle(app, pilot)
        assert isinstance(app.screen, PreviewScreen)
        text = " ".join(str(w.render()) for w in app.screen.query(Static))
        assert "Načrtovan izklop" in text or "načrtovan" in text.lower()
        assert "UCS-2" in text and "segment" in text
        await pilot.press("escape")
        assert isinstance(app.screen, OutageFormScreen)


async def test_leaving_a_filled_form_asks_first(tui_engine: Engine) -> None:
    """Esc and Ctrl+Q on a draft with typed work ask before throwing it away; an untouched
    form closes at once."""
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(80, 24)) as pilot:
        tree, eg = await open_gorenjska(app, pilot)
        tree.move_cursor(eg.children[0])
        await pilot.press("space", "d")
        await settle(app, pilot)
        form = app.screen
        assert isinstance(form, OutageFormScreen)
        fill_form(form)
        await pilot.press("escape")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog)
        await pilot.press("escape")  # keep editing
        await settle(app, pilot)
        assert app.screen is form
        await pilot.press("ctrl+q")
        await settle(app, pilot)
        assert isinstance(app.screen, ConfirmDialog), "quitting asks too"
        await pilot.press("n")
        await settle(app, pilot)
        assert app.screen is form and app.is_running
        await pilot.press("escape")
        await settle(app, pilot)
        await pilot.press("y")  # discard
        await settle(app, pilot)
        assert isinstance(app.screen, NetworkScreen)
        await pilot.press("d")
        await settle(app, pilot)
        assert isinstance(app.screen, OutageFormScreen)
        await pilot.press("escape")  # nothing typed: no question
        await settle(app, pilot)
        assert isinstance(app.screen, NetworkScreen)
    with tui_engine.connect() as conn:
        assert outages.list_outages(conn)[1] == 0


async def test_a_reason_per_audience_language(tui_engine: Engine) -> None:
    """The reason field is the utility's language's; the others have their own, the
    preview names a language that falls back, and the saved draft keeps them."""
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(100, 30)) as pilot:
        tree, eg = await open_gorenjska(app, pilot)
        tree.move_cursor(eg.children[0])
        await pilot.press("space", "d")
        await settle(app, pilot)
        form = app.screen
        assert not form.query_one("#reason-sl", Input).display
        assert form.query_one("#reason-en", Input).display
        fill_form(form)
        await pilot.press("f6")
        await settle(app, pilot)
        text = " ".join(str(w.render()) for w in app.screen.query(Static))
        assert "English notices will carry the Slovene reason" in text
        await pilot.press("escape")
        form.query_one("#reason-en", Input).value = "maintenance works"
        await pilot.press("f6")
        await settle(app, pilot)
        text = " ".join(str(w.render()) for w in app.screen.query(Static))
        assert "Slovene reason" not in text and "Reason: maintenance works." in text
        await pilot.press("escape")
        await pilot.press("ctrl+s")
        await settle(app, pilot)
    with tui_engine.connect() as conn:
        rows, _total = outages.list_outages(conn)
    assert rows[0].reasons == {"en": "maintenance works"}
