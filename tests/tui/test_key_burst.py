"""Keys typed in one burst over SSH ("abc", Tab, "def") land where a terminal line
editor would put them: the keys after Tab in the field Tab moved to.

`pilot.press` waits for the app to go idle after each key, which hides the
problem; the terminal driver posts every key of one read at once, and so does
`burst` (the same events, one after another without waiting)."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from textual import events
from textual.app import App
from textual.pilot import Pilot
from textual.widgets import Input

from dispatch_tui.screens.outage_form import OutageFormScreen
from tests.tui.conftest import make_app
from tests.tui.test_app import settle
from tests.tui.test_drafting import open_gorenjska

KEYS = ("a", "b", "c", "tab", "d", "e", "f", "tab", "shift+tab")


def burst(app: App[None], *keys: str) -> None:
    """What the driver does with one read of "abc\\tdef": every key queued at once."""
    chars = {"tab": "\t", "shift+tab": None}
    for key in keys:
        app.post_message(events.Key(key, chars.get(key, key)))


async def open_form(app: App[None], pilot: Pilot[None]) -> OutageFormScreen:
    tree, eg = await open_gorenjska(app, pilot)
    tree.move_cursor(eg.children[0])
    await pilot.press("space")
    await settle(app, pilot)
    await pilot.press("d")
    await settle(app, pilot)
    form = app.screen
    assert isinstance(form, OutageFormScreen)
    assert app.focused is form.query_one("#title", Input)
    return form


@pytest.mark.parametrize("how", ["burst", "pilot"])
async def test_keys_after_tab_reach_the_next_field(tui_engine: Engine, how: str) -> None:
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(80, 24)) as pilot:
        form = await open_form(app, pilot)
        if how == "burst":
            burst(app, *KEYS)
        else:
            await pilot.press(*KEYS)
        await settle(app, pilot)
        assert form.query_one("#title", Input).value == "abc"
        assert form.query_one("#reason", Input).value == "def"
        assert app.focused is form.query_one("#reason", Input)
