"""The subscribers screen through the real app: find a caller by phone,
see their contacts, record an opt-out with a reason."""

from __future__ import annotations

from sqlalchemy import Engine, select
from textual.widgets import DataTable

from dispatch_tui.screens.subscribers import SubscribersScreen
from dispatch_tui.storage.tables import contact
from tests.tui.conftest import make_app
from tests.tui.test_app import settle


async def find(pilot: object, app: object, text: str) -> None:
    await pilot.press("f8")  # type: ignore[attr-defined]
    await settle(app, pilot)  # type: ignore[arg-type]
    await pilot.press(*text, "enter")  # type: ignore[attr-defined]
    await settle(app, pilot)  # type: ignore[arg-type]


async def test_find_by_phone_and_record_an_opt_out(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await find(pilot, app, "041123456")
        screen = app.screen
        assert isinstance(screen, SubscribersScreen)
        results = screen.query_one("#results", DataTable)
        assert results.row_count == 1
        row = [str(cell) for cell in results.get_row_at(0)]
        assert "Ana Novak" in row and any("Prešernova" in cell for cell in row)
        contacts = screen.query_one("#contacts", DataTable)
        assert contacts.row_count == 2
        contacts.focus()
        rows = [str(contacts.get_row_at(i)[0]) for i in range(2)]
        contacts.move_cursor(row=rows.index("sms"))
        await pilot.press("o")
        await settle(app, pilot)
        await pilot.press(*"asked by phone", "enter")
        await settle(app, pilot)
        shown = {str(contacts.get_row_at(i)[0]): contacts.get_row_at(i) for i in range(2)}
        assert shown["sms"][2] == "opted_out" and shown["email"][2] == "opted_in"
        assert "operator ana: asked by phone" in str(shown["sms"][4])
    with tui_engine.connect() as conn:
        consent = conn.execute(
            select(contact.c.consent).where(
                contact.c.channel == "sms", contact.c.address == "+38641123456"
            )
        ).scalar_one()
    assert consent == "opted_out"


async def test_a_viewer_may_look_but_not_opt_out(tui_engine: Engine) -> None:
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await find(pilot, app, "041123456")
        app.screen.query_one("#contacts", DataTable).focus()
        await pilot.press("o")
        await settle(app, pilot)
        await pilot.press(*"asked", "enter")
        await settle(app, pilot)
        texts = [str(n.message) for n in app._notifications]
        assert any("viewer" in t for t in texts), texts
    with tui_engine.connect() as conn:
        assert set(conn.execute(select(contact.c.consent)).scalars()) == {"opted_in"}
