"""Campaigns through storage on both backends: four-eyes, bad input, the audience,
the fan-out into the outbox, payers dropped, STOP, quiet hours, cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from dispatch_tui.storage import campaign_fanout, campaigns, consent, monitor, outbox
from dispatch_tui.storage.campaigns import CampaignError
from dispatch_tui.storage.importers.balances import import_balances
from dispatch_tui.storage.tables import audit_log, campaign, contact_service, message
from tests.storage.campaign_world import (
    SOFIA,
    World,
    approved,
    local,
    make_world,
    payment_draft,
    snapshot,
)

TODAY = datetime.now(UTC).astimezone(SOFIA).date()
LATER = local(TODAY + timedelta(days=1), 10)
"""When the engine builds: tomorrow 10:00 in Sofia, outside quiet hours."""


@pytest.fixture
def world(engine: Engine, tmp_path: Path) -> World:
    w = make_world(engine, tmp_path)
    a = w.accounts
    build_day = LATER.astimezone(SOFIA).date()
    snapshot(
        engine,
        w.eh,
        [
            (a["300000000001"], 5000, build_day - timedelta(days=30), None),
            (a["300000000002"], 1200, build_day - timedelta(days=5), None),
            (a["300000000003"], 800, build_day - timedelta(days=40), None),
            (a["300000000004"], 900, build_day - timedelta(days=30), None),
            (a["300000000005"], 100, build_day - timedelta(days=30), None),
        ],
    )
    return w


def messages(engine: Engine, cid: int) -> list[tuple[str, str, str]]:
    with engine.connect() as conn:
        return sorted(
            conn.execute(
                select(message.c.address, message.c.channel, message.c.status).where(
                    message.c.campaign_id == cid
                )
            ).all()
        )


def bodies(engine: Engine, cid: int) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(
            conn.execute(
                select(message.c.address, message.c.body).where(message.c.campaign_id == cid)
            ).all()
        )


def status(engine: Engine, cid: int) -> str:
    with engine.connect() as conn:
        return str(conn.execute(select(campaign.c.status).where(campaign.c.id == cid)).scalar())


def claim(engine: Engine, now: datetime) -> list[outbox.ClaimedMessage]:
    return outbox.claim_batch(
        engine, owner="e1", channels=["sms", "email", "telegram", "viber"], now=now
    )


def test_four_eyes_and_roles(engine: Engine, world: World) -> None:
    with pytest.raises(CampaignError, match="a viewer may not draft campaigns"):
        campaigns.create_draft(engine, payment_draft(world), actor="viktor")
    cid = campaigns.create_draft(engine, payment_draft(world), actor="bohdan")
    campaigns.submit(engine, cid, actor="bohdan")
    with pytest.raises(CampaignError, match="a dispatcher may not approve"):
        campaigns.approve(engine, cid, actor="ana")
    with pytest.raises(CampaignError, match="four-eyes: you drafted this campaign"):
        campaigns.approve(engine, cid, actor="bohdan")
    assert status(engine, cid) == "submitted"
    campaigns.approve(engine, cid, actor="olena")
    with pytest.raises(CampaignError, match="only a submitted campaign is approved"):
        campaigns.approve(engine, cid, actor="root")
    with engine.connect() as conn:
        row = campaigns.get_campaign(conn, cid)
        refused = conn.execute(
            select(audit_log.c.actor, audit_log.c.action).where(
                audit_log.c.entity == "campaign", audit_log.c.action == "approve_refused"
            )
        ).all()
    assert (row.status, row.approved_by) == ("approved", "olena")
    assert sorted(refused) == [
        ("ana", "approve_refused"),
        ("bohdan", "approve_refused"),
        (
            "root",
            "approve_refused",
        ),
    ]


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"min_days_overdue": -3}, "days overdue: -3 is not between 1 and"),
        ({"min_days_overdue": 0}, "days overdue: 0 is not between 1 and"),
        ({"min_days_overdue": None}, "days overdue: a whole number of days"),
        ({"channels": ()}, "channels: choose at least one channel"),
        ({"channels": ("sms", "fax")}, "channels: 'fax' unknown"),
        ({"due_at": datetime.now(UTC) - timedelta(hours=2)}, "due: .* is in the past"),
        ({"kind": "lottery"}, "kind: 'lottery' is not a campaign kind"),
        ({"kind": "reading_reminder"}, "days overdue: only payment reminders have one"),
        ({"utility_id": 9999}, "utility: 9999 does not exist"),
    ],
)
def test_bad_drafts_are_refused_and_change_nothing(
    engine: Engine, world: World, changes: dict[str, object], says: str
) -> None:
    with pytest.raises(CampaignError, match=says):
        campaigns.create_draft(engine, payment_draft(world, **changes), actor="ana")
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(campaign)).scalar() == 0


def test_a_payment_reminder_needs_a_snapshot(engine: Engine, tmp_path: Path) -> None:
    w = make_world(engine, tmp_path)
    with pytest.raises(CampaignError, match="EH: no balances imported yet"):
        campaigns.create_draft(engine, payment_draft(w), actor="ana")


def test_nothing_is_built_before_approval_or_due_time(engine: Engine, world: World) -> None:
    cid = campaigns.create_draft(engine, payment_draft(world), actor="ana")
    assert campaign_fanout.run_due(engine, owner="e1", now=LATER) == []
    campaigns.submit(engine, cid, actor="ana")
    assert campaign_fanout.run_due(engine, owner="e1", now=LATER) == []
    campaigns.approve(engine, cid, actor="bohdan")
    assert campaign_fanout.run_due(engine, owner="e1", now=datetime.now(UTC)) == []
    assert messages(engine, cid) == []


def test_the_overdue_consenting_contacts_get_one_message_each(engine: Engine, world: World) -> None:
    cid = approved(engine, world)
    built = campaign_fanout.run_due(engine, owner="e1", now=LATER)
    assert built == [campaign_fanout.BuildResult(cid, 4)]
    assert campaign_fanout.run_due(engine, owner="e2", now=LATER) == [], "built once"
    assert messages(engine, cid) == [
        ("+359880000003", "sms", "pending"),
        ("+359888123456", "sms", "pending"),
        ("700000003", "telegram", "pending"),
        ("maria@example.bg", "email", "pending"),
    ]
    texts = bodies(engine, cid)
    due = (LATER.astimezone(SOFIA).date() - timedelta(days=40)).strftime("%d/%m/%Y")
    english = [b for b in texts.values() if b.startswith("Reminder")]
    assert (
        english
        == [
            f"Reminder: the payment for account 300000000003 due {due} has not reached us. "
            "If you have already paid, please ignore this message. Tel. 0700 10 010"
        ]
        * 2
    )
    assert any("клиентски номер 300000000001" in b for b in texts.values())
    assert not any("50.00" in b or "5000" in b for b in texts.values()), "no amount"
    sent = claim(engine, LATER)
    assert len(sent) == 4 and {m.sender for m in sent if m.channel == "sms"} == {"Electrohold"}


def test_an_account_that_pays_after_approval_is_dropped(engine: Engine, world: World) -> None:
    cid = approved(engine, world)
    campaign_fanout.run_due(engine, owner="e1", now=LATER)
    a = world.accounts
    newer = [
        (a["300000000001"], 0, TODAY, TODAY),
        (a["300000000003"], 800, TODAY - timedelta(days=40), None),
    ]
    snapshot(engine, world.eh, newer)
    assert campaign_fanout.drop_paid(engine, world.eh, actor="root") == 2
    assert sorted(m.address for m in claim(engine, LATER)) == ["+359880000003", "700000003"]
    assert sorted(s for _, _, s in messages(engine, cid)) == [
        "cancelled",
        "cancelled",
        "sending",
        "sending",
    ]


def test_the_balances_import_drops_the_payers(engine: Engine, world: World, tmp_path: Path) -> None:
    """The importer itself drops them, in the transaction that adds the snapshot."""
    cid = approved(engine, world)
    campaign_fanout.run_due(engine, owner="e1", now=LATER)
    overdue = (TODAY - timedelta(days=40)).isoformat()
    csv = tmp_path / "balances.csv"
    csv.write_text(
        "account,amount,currency,due_date,last_payment_date\n"
        f"300000000001,0,BGN,{overdue},{TODAY.isoformat()}\n"
        f"300000000003,8.00,BGN,{overdue},\n",
        encoding="utf-8",
    )
    import_balances(engine, csv, actor="root", utility_code="EH")
    assert sorted(m.address for m in claim(engine, LATER)) == ["+359880000003", "700000003"]
    assert sorted(s for _, _, s in messages(engine, cid)).count("cancelled") == 2


def test_the_claim_drops_a_payer_the_importer_did_not_tell(engine: Engine, world: World) -> None:
    cid = approved(engine, world)
    campaign_fanout.run_due(engine, owner="e1", now=LATER)
    a = world.accounts
    snapshot(
        engine, world.eh, [(a["300000000003"], 800, TODAY - timedelta(days=40), TODAY)]
    )  # a part payment after the campaign's snapshot counts as paying
    claimed = claim(engine, LATER)
    assert sorted(m.channel for m in claimed) == ["email", "sms"]
    with engine.connect() as conn:
        reasons = set(
            conn.scalars(
                select(message.c.last_error).where(
                    message.c.campaign_id == cid, message.c.status == "cancelled"
                )
            )
        )
    assert reasons == {outbox.NOT_WANTED_REASON}


def test_a_payer_before_the_build_gets_nothing(engine: Engine, world: World) -> None:
    cid = approved(engine, world)
    a = world.accounts
    snapshot(engine, world.eh, [(a["300000000001"], -500, TODAY, TODAY)])
    campaign_fanout.run_due(engine, owner="e1", now=LATER)
    assert sorted(addr for addr, _, _ in messages(engine, cid)) == ["+359880000003", "700000003"]


def test_stop_between_approval_and_send(engine: Engine, world: World) -> None:
    cid = approved(engine, world)
    stop = world.contacts["300000000003", "sms"]
    with engine.begin() as conn:
        consent.opt_out(conn, [world.contacts["300000000001", "sms"]], now=LATER, source="STOP")
    campaign_fanout.run_due(engine, owner="e1", now=LATER)
    assert "+359888123456" not in {a for a, _, _ in messages(engine, cid)}, "not built"
    with engine.begin() as conn:
        consent.opt_out(conn, [stop], now=LATER, source="STOP")
    with engine.begin() as conn:  # leaving the service alone (not STOP) also counts
        conn.execute(
            contact_service.update()
            .where(contact_service.c.contact_id == world.contacts["300000000003", "telegram"])
            .values(consent="opted_out")
        )
    assert [m.channel for m in claim(engine, LATER)] == ["email"]
    assert status(engine, cid) == "sending"


def test_quiet_hours_hold_sms_and_bots_not_email(engine: Engine, world: World) -> None:
    approved(engine, world)
    night = local(TODAY + timedelta(days=1), 22, 30)
    morning = local(TODAY + timedelta(days=2), 8)
    campaign_fanout.run_due(engine, owner="e1", now=night)
    assert [m.channel for m in claim(engine, night)] == ["email"]
    assert claim(engine, morning - timedelta(minutes=1)) == []
    assert sorted(m.channel for m in claim(engine, morning)) == ["sms", "sms", "telegram"]


def test_a_long_send_stops_when_quiet_hours_begin(engine: Engine, world: World) -> None:
    cid = approved(engine, world)
    evening = local(TODAY + timedelta(days=1), 20, 50)
    campaign_fanout.run_due(engine, owner="e1", now=evening)
    later = local(TODAY + timedelta(days=1), 21, 5)
    assert campaign_fanout.defer_quiet(engine, now=later) == 3
    assert [m.channel for m in claim(engine, later)] == ["email"]
    assert len(messages(engine, cid)) == 4


def test_cancel_stops_what_waits_and_done_follows_the_sends(engine: Engine, world: World) -> None:
    cid = approved(engine, world)
    campaign_fanout.run_due(engine, owner="e1", now=LATER)
    campaigns.cancel(engine, cid, actor="ana")
    assert claim(engine, LATER) == []
    assert {s for _, _, s in messages(engine, cid)} == {"cancelled"}
    with pytest.raises(CampaignError, match="nothing left to cancel"):
        campaigns.cancel(engine, cid, actor="ana")
    other = approved(engine, world)
    campaign_fanout.run_due(engine, owner="e1", now=LATER)
    sent = claim(engine, LATER)
    assert status(engine, other) == "sending"
    outbox.record_results(
        engine, owner="e1", results=[outbox.Result(m.id, "sent") for m in sent], now=LATER
    )
    campaign_fanout.run_due(engine, owner="e1", now=LATER)
    assert status(engine, other) == "done"


def test_reading_reminders_go_to_their_consenting_contacts(engine: Engine, world: World) -> None:
    cid = approved(engine, world, kind="reading_reminder", min_days_overdue=None)
    campaign_fanout.run_due(engine, owner="e1", now=LATER)
    assert messages(engine, cid) == [("+359880000004", "sms", "pending")]
    (body,) = bodies(engine, cid).values()
    assert body.startswith("Напомняне: от ") and "клиентски номер 300000000004" in body


def test_preview_counts_texts_and_cost(engine: Engine, world: World) -> None:
    cid = campaigns.create_draft(engine, payment_draft(world), actor="ana")
    with engine.connect() as conn:
        shown = campaigns.preview(
            conn, cid, price_per_segment=Decimal("0.05"), currency="BGN", now=LATER
        )
    assert shown.recipients == 4
    assert shown.by_channel == {"sms": 2, "email": 1, "telegram": 1}
    assert [(s.language, s.channel, s.recipients) for s in shown.samples] == [
        ("bg", "email", 1),
        ("bg", "sms", 1),
        ("en", "sms", 1),
        ("en", "telegram", 1),
    ]
    bg_sms = shown.samples[1]
    assert bg_sms.segments == 3 and "XXXXXXXXXXXX" in bg_sms.body
    assert shown.sms_segments == 3 + 1, "UCS-2 Bulgarian: 3 segments; GSM-7 English: 1"
    assert shown.sms_cost == Decimal("0.05") * shown.sms_segments


def test_the_monitor_lists_campaigns_with_counts_by_state(engine: Engine, world: World) -> None:
    cid = approved(engine, world)
    campaign_fanout.run_due(engine, owner="e1", now=LATER)
    sent = [m for m in claim(engine, LATER) if m.channel == "sms"]
    outbox.record_results(
        engine, owner="e1", results=[outbox.Result(m.id, "sent") for m in sent], now=LATER
    )
    with engine.connect() as conn:
        (shown,) = monitor.campaign_progress(conn, now=LATER)
    by_channel = {c.channel: {s: n for s, n in c.counts.items() if n} for c in shown.channels}
    assert (shown.campaign_id, shown.status, shown.title) == (
        cid,
        "sending",
        "payment reminder, 10+ days overdue",
    )
    assert by_channel == {"sms": {"sent": 2}, "email": {"sending": 1}, "telegram": {"sending": 1}}


def test_e_mails_carry_an_unsubscribe_link(engine: Engine, world: World) -> None:
    cid = approved(engine, world)
    campaign_fanout.run_due(
        engine, owner="e1", now=LATER, unsubscribe_base="https://outages.example.bg/"
    )
    with engine.connect() as conn:
        rows = conn.execute(
            select(message.c.channel, message.c.unsubscribe_url, message.c.body).where(
                message.c.campaign_id == cid
            )
        ).all()
    (email,) = [r for r in rows if r.channel == "email"]
    assert email.unsubscribe_url.startswith("https://outages.example.bg/")
    assert email.body.endswith(email.unsubscribe_url)
    assert all(r.unsubscribe_url is None for r in rows if r.channel != "email")


def test_an_older_snapshot_written_later_drops_nobody(engine: Engine, world: World) -> None:
    """Newer means a later moment (`as_of`), not a later row: history written afterwards
    (the demo's month before) says nothing about paying since."""
    cid = approved(engine, world)
    campaign_fanout.run_due(engine, owner="e1", now=LATER)
    a = world.accounts
    snapshot(
        engine,
        world.eh,
        [(a["300000000001"], 0, TODAY - timedelta(days=90), TODAY - timedelta(days=90))],
        as_of=datetime.now(UTC) - timedelta(days=60),
    )
    assert campaign_fanout.drop_paid(engine, world.eh, actor="root") == 0
    assert len(claim(engine, LATER)) == 4
    assert {s for _, _, s in messages(engine, cid)} == {"sending"}


def test_a_payment_counts_only_against_the_accounts_own_history(
    engine: Engine, world: World
) -> None:
    """0003 had no payment in the campaign's snapshot and one in the next: it paid,
    though maria's payment known before is later still; maria paid nothing new."""
    a = world.accounts
    build_day = LATER.astimezone(SOFIA).date()
    overdue = build_day - timedelta(days=30)
    known = build_day - timedelta(days=20)
    snapshot(
        engine,
        world.eh,
        [(a["300000000001"], 5000, overdue, known), (a["300000000003"], 800, overdue, None)],
    )
    cid = approved(engine, world)
    campaign_fanout.run_due(engine, owner="e1", now=LATER)
    snapshot(
        engine,
        world.eh,
        [
            (a["300000000001"], 5000, overdue, known),
            (a["300000000003"], 800, overdue, known - timedelta(days=5)),
        ],
    )
    assert campaign_fanout.drop_paid(engine, world.eh, actor="root") == 2
    assert sorted(addr for addr, _, s in messages(engine, cid) if s == "pending") == [
        "+359888123456",
        "maria@example.bg",
    ]
