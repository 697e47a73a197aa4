"""The subscribers screen through the real app: find a caller by phone,
see their contacts, record an opt-out with a reason, see and lift a
self-service lock."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, update
from textual.widgets import DataTable, Static

from dispatch_tui.domain.bot_dialogue import MAX_PROOF_FAILURES
from dispatch_tui.screens.subscribers import SubscribersScreen
from dispatch_tui.storage.bot_chats import handle_chat_message
from dispatch_tui.storage.inbound import handle_inbound
from dispatch_tui.storage.services import set_service_consent
from dispatch_tui.storage.tables import audit_log, contact, subscriber
from tests.storage.test_bill_checks import NOW, snapshot
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
        assert "operator ana: asked by phone" in str(shown["sms"][6])
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


def lock_by_guessing(engine: Engine) -> None:
    """Five wrong meter numbers for account 100000002 through the bot."""
    texts = ["/add", "100000002", *[f"UA-00000{n}" for n in range(MAX_PROOF_FAILURES)]]
    for update_id, text in enumerate(texts, start=1):
        handle_chat_message(engine, "telegram", "666", text, update_id=update_id)


def lock_shown(engine: Engine) -> bool:
    with engine.connect() as conn:
        return (
            conn.execute(
                select(subscriber.c.self_service_locked_at).where(
                    subscriber.c.account == "100000002"
                )
            ).scalar_one()
            is not None
        )


async def test_a_self_service_lock_shows_and_an_operator_lifts_it(tui_engine: Engine) -> None:
    lock_by_guessing(tui_engine)
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await find(pilot, app, "100000002")
        screen = app.screen
        assert isinstance(screen, SubscribersScreen)
        line = str(screen.query_one("#lock", Static).render())
        assert "LOCKED" in line and "5 wrong proofs" in line
        await pilot.press("u")
        await settle(app, pilot)
        await pilot.press(*"called, named the meter", "enter")
        await settle(app, pilot)
        assert str(screen.query_one("#lock", Static).render()) == ""
    assert not lock_shown(tui_engine)
    with tui_engine.connect() as conn:
        actors = conn.execute(
            select(audit_log.c.actor).where(audit_log.c.action == "lift_self_service_lock")
        ).scalars()
        assert list(actors) == ["ana"]


async def test_a_viewer_may_not_lift_a_lock(tui_engine: Engine) -> None:
    lock_by_guessing(tui_engine)
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await find(pilot, app, "100000002")
        await pilot.press("u")
        await settle(app, pilot)
        await pilot.press(*"asked", "enter")
        await settle(app, pilot)
        texts = [str(n.message) for n in app._notifications]
        assert any("viewer" in t for t in texts), texts
    assert lock_shown(tui_engine)


async def test_contacts_say_what_places_they_cover(tui_engine: Engine) -> None:
    handle_inbound(tui_engine, sender="+38640999888", receiver="1", text="6-100001 PRIJAVA")
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await find(pilot, app, "100234")
        contacts = app.screen.query_one("#contacts", DataTable)
        shown = {str(contacts.get_row_at(i)[1]): contacts.get_row_at(i) for i in range(3)}
        assert str(shown["+38640999888"][3]) == "6-100001 (unproven: no street names)"
        assert str(shown["+38641123456"][3]) == "all places"


async def test_balances_and_services_of_a_caller(tui_engine: Engine, tmp_path: Path) -> None:
    """The newest snapshot's figure first, then the earlier ones; each contact's services."""
    snapshot(
        tui_engine, tmp_path, "EG", "100234,99.00,EUR,2026-11-15\n", "2026-11-01", actor="root"
    )
    snapshot(
        tui_engine,
        tmp_path,
        "EG",
        '100234,"12,50",EUR,2026-12-15\n',
        "2026-12-01 08:00",
        actor="root",
    )
    with tui_engine.begin() as conn:
        ana = conn.execute(
            select(contact.c.id).where(contact.c.address == "+38641123456")
        ).scalar_one()
        set_service_consent(conn, [ana], "bill_info", opted_in=True, now=NOW, source="b")
        set_service_consent(conn, [ana], "payment_reminder", opted_in=False, now=NOW, source="b")
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await find(pilot, app, "041123456")
        contacts = app.screen.query_one("#contacts", DataTable)
        shown = {str(contacts.get_row_at(i)[0]): contacts.get_row_at(i) for i in range(2)}
        assert (str(shown["sms"][5]), str(shown["email"][5])) == ("bill, no pay", "")
        lines = str(app.screen.query_one("#balance", Static).render()).splitlines()
        contacts.focus()
        contacts.move_cursor(row=[str(contacts.get_row_at(i)[0]) for i in range(2)].index("sms"))
        await pilot.press("s")
        await settle(app, pilot)
        await pilot.press(*"asked by phone", "enter")
        await settle(app, pilot)
        shown = {str(contacts.get_row_at(i)[0]): contacts.get_row_at(i) for i in range(2)}
        assert (str(shown["sms"][5]), str(shown["sms"][2])) == ("no bill, no pay", "opted_in")
    assert lines == [
        "Balance: 12.50 EUR due 2026-12-15 (as of 2026-12-01 08:00 Europe/Ljubljana)",
        "  earlier: 99.00 EUR due 2026-11-15 (as of 2026-11-01 00:00 Europe/Ljubljana)",
    ]


@pytest.mark.parametrize(
    ("size", "colour"), [((80, 24), False), ((100, 30), True)], ids=["80x24", "100x30"]
)
def test_snapshot_of_a_found_caller(
    tui_engine: Engine,
    snap_compare: object,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, int],
    colour: bool,
) -> None:
    """The caller found by phone: short columns first, times labelled UTC, nothing cut
    but the address's tail at 80 columns. Stored times are pinned for a stable picture."""
    if not colour:
        monkeypatch.setenv("NO_COLOR", "1")
    with tui_engine.begin() as conn:
        conn.execute(update(contact).values(consent_at=datetime(2030, 5, 1, 8, 0, tzinfo=UTC)))
    app = make_app(tui_engine, "ana")

    async def run_before(pilot: object) -> None:
        await settle(app, pilot)  # type: ignore[arg-type]
        await find(pilot, app, "041123456")
        app.sub_title = "ana (dispatcher)  ·  test database"
        await settle(app, pilot)  # type: ignore[arg-type]

    assert snap_compare(app, terminal_size=size, run_before=run_before)  # type: ignore[operator]
