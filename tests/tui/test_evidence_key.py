"""`x` on an outage's detail writes its delivery evidence: to a new file in the user's
data directory as offered, or to a path typed instead, and says where; it is offered
only once notices went out."""

from __future__ import annotations

import csv
import stat
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from textual.widgets import Input

from dispatch_tui.dialogs.save_path import SavePathDialog
from dispatch_tui.screens.outage_detail import OutageDetailScreen
from dispatch_tui.storage import outbox
from dispatch_tui.storage.tables import audit_log, notice
from tests.engine.factory import make_outbox
from tests.tui.conftest import make_app
from tests.tui.test_app import settle


def sent_outage(engine: Engine) -> int:
    notice_id = make_outbox(engine, 3)
    claimed = outbox.claim_batch(engine, owner="test", channels=["sms"])
    results = [outbox.Result(m.id, "sent", gateway_ref=f"ref-{m.id}") for m in claimed]
    outbox.record_results(engine, owner="test", results=results)
    with engine.connect() as conn:
        return int(
            conn.execute(select(notice.c.outage_id).where(notice.c.id == notice_id)).scalar_one()
        )


@pytest.fixture
def data_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    return tmp_path / "xdg" / "dispatch-tui" / "exports"


async def test_x_writes_the_evidence_where_offered_or_chosen(
    tui_engine: Engine, data_home: Path, tmp_path: Path
) -> None:
    outage_id = sent_outage(tui_engine)
    app = make_app(tui_engine, "viktor")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = OutageDetailScreen(outage_id)
        await app.push_screen(screen)
        await settle(app, pilot)
        assert screen.check_action("export_evidence", ()) is True
        await pilot.press("x")
        await settle(app, pilot)
        assert isinstance(app.screen, SavePathDialog)
        offered = Path(app.screen.query_one("#path", Input).value)
        assert offered.parent == data_home and offered.name.startswith(
            f"evidence-outage-{outage_id}-"
        )
        notes: list[str] = []
        app.notify = lambda message, **_: notes.append(message)  # type: ignore[method-assign]
        await pilot.press("enter")
        await settle(app, pilot)
        assert app.screen is screen
        assert notes == [
            f"Evidence of 3 messages (3 rows) written to {offered}; summary in "
            f"{offered.stem}.summary.txt"
        ]
        rows = list(csv.DictReader(offered.open(encoding="utf-8")))
        assert [r["event"] for r in rows] == ["sent"] * 3
        assert stat.S_IMODE(offered.stat().st_mode) == 0o600

        chosen = tmp_path / "claim.csv"
        await pilot.press("x")
        await settle(app, pilot)
        app.screen.query_one("#path", Input).value = str(chosen)
        await pilot.press("enter")
        await settle(app, pilot)
        assert chosen.exists() and (tmp_path / "claim.summary.txt").exists()
        assert notes[-1].endswith(f"written to {chosen}; summary in claim.summary.txt")

        await pilot.press("x")
        await settle(app, pilot)
        app.screen.query_one("#path", Input).value = str(chosen)
        await pilot.press("enter")
        await settle(app, pilot)
        assert notes[-1] == f"{chosen} exists: choose another file"
    with tui_engine.connect() as conn:
        actors = conn.execute(
            select(audit_log.c.actor).where(audit_log.c.action == "export_evidence")
        ).all()
    assert actors == [("viktor",), ("viktor",)]


async def test_no_evidence_before_notices_went_out(tui_engine: Engine, data_home: Path) -> None:
    notice_id = make_outbox(tui_engine, 1)
    with tui_engine.begin() as conn:
        outage_id = conn.execute(
            select(notice.c.outage_id).where(notice.c.id == notice_id)
        ).scalar_one()
        conn.execute(notice.update().values(status="scheduled"))
    app = make_app(tui_engine, "ana")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(app, pilot)
        screen = OutageDetailScreen(outage_id)
        await app.push_screen(screen)
        await settle(app, pilot)
        assert screen.check_action("export_evidence", ()) is False
        await pilot.press("x")
        await settle(app, pilot)
        assert app.screen is screen
    assert not data_home.exists()
