"""`dispatch-tui export stats --month YYYY-MM`: registrations, reminders sent and
delivered, bill checks per utility, in the utility's local month; a bad month named."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import insert, update

from dispatch_tui.cli import main
from dispatch_tui.storage import campaign_fanout, outbox
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import bill_check, contact_service
from tests.storage.campaign_world import approved, local, make_world, snapshot

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


def run(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, db_url: str) -> dict[str, str]:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    return {"DISPATCH_TUI_DATABASE_URL": db_url, "DISPATCH_TUI_AUDIT_SYSLOG_SOCKET": ""}


def test_the_months_figures_per_utility(env: dict[str, str], db_url: str, tmp_path: Path) -> None:
    engine = create_db_engine(db_url)
    world = make_world(engine, tmp_path)
    snapshot(
        engine,
        world.eh,
        [
            (sid, 900, datetime.now(UTC).date() - timedelta(days=60), None)
            for sid in world.accounts.values()
        ],
    )
    approved(engine, world)
    build = local(datetime.now(UTC).date() + timedelta(days=1), 10)
    campaign_fanout.run_due(engine, owner="e1", now=build)
    sent = outbox.claim_batch(engine, owner="e1", channels=["sms", "email", "telegram"], now=build)
    outbox.record_results(
        engine, owner="e1", results=[outbox.Result(m.id, "sent") for m in sent], now=build
    )
    outbox.apply_report(engine, sent[0].id, "delivered", now=build)
    month = build.astimezone(local(build.date(), 0).tzinfo).strftime("%Y-%m")
    sofia_midnight = local(build.date().replace(day=1), 0)
    with engine.begin() as conn:
        # Registered on the month's first minute in Sofia (still the month before in UTC).
        conn.execute(
            update(contact_service).values(consent_at=sofia_midnight + timedelta(minutes=1))
        )
        conn.execute(
            insert(bill_check),
            [
                {
                    "at": build,
                    "channel": "sms",
                    "subscriber_id": world.accounts["300000000001"],
                    "outcome": "answered",
                },
                {
                    "at": build,
                    "channel": "sms",
                    "subscriber_id": world.accounts["300000000002"],
                    "outcome": "answered",
                },
                {
                    "at": build,
                    "channel": "telegram",
                    "subscriber_id": world.accounts["300000000003"],
                    "outcome": "unverified",
                },
                {
                    "at": build,
                    "channel": "sms",
                    "subscriber_id": None,
                    "outcome": "unknown_account",
                },
                {
                    "at": build - timedelta(days=62),
                    "channel": "sms",
                    "subscriber_id": None,
                    "outcome": "answered",
                },
            ],
        )
    engine.dispose()
    result = run(env, "export", "stats", "--month", month)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["month", "utility", "figure", "detail", "count"]
    assert [r[1:] for r in rows[1:]] == [
        ["EH", "registrations", "payment_reminder", "5"],
        ["EH", "registrations", "reading_reminder", "1"],
        ["EH", "reminders_sent", "payment_reminder", str(len(sent))],
        ["EH", "reminders_delivered", "payment_reminder", "1"],
        ["EH", "bill_checks", "answered", "2"],
        ["EH", "bill_checks", "unverified", "1"],
        ["-", "bill_checks", "unknown_account", "1"],
    ]


@pytest.mark.parametrize("month", ["2026-13", "11/2026", "2026-1", ""])
def test_a_bad_month_is_named(env: dict[str, str], month: str) -> None:
    result = run(env, "export", "stats", "--month", month)
    assert result.exit_code != 0
    assert f"--month: '{month}' is not a month like 2026-11" in result.output
