"""Four-eyes on campaigns held by PostgreSQL (migration 0028): each operator and the
engine connect as their own login and try, as a colleague with psql would, what the
storage layer would refuse them. The database refuses it, or records the session user."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError

from dispatch_tui.storage import campaign_fanout, campaigns, outbox
from dispatch_tui.storage.campaigns import CampaignError
from dispatch_tui.storage.tables import campaign, message
from tests.security.pg_roles import (
    ADMIN,
    ANA,
    BOHDAN,
    DMYTRO,
    OLENA,
    SENDER,
    VIKTOR,
    Cluster,
    cluster,
)
from tests.storage.campaign_world import World, local, payment_draft, populate, snapshot

__all__ = ["cluster"]

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

LATER = local(datetime.now(UTC).date() + timedelta(days=1), 10)
"""Tomorrow 10:00 in Sofia: outside quiet hours."""


@pytest.fixture
def world(cluster: Cluster, engine: Engine) -> World:
    w = populate(engine)
    today = datetime.now(UTC).date()
    snapshot(
        engine,
        w.eh,
        [(sid, 1000, today - timedelta(days=30), None) for sid in w.accounts.values()],
    )
    return w


def drafted(c: Cluster, w: World, author: str = ANA, submit: bool = True) -> int:
    db = c.as_role(author)
    cid = campaigns.create_draft(db, payment_draft(w), actor=author)
    if submit:
        campaigns.submit(db, cid, actor=author)
    return cid


def refused(db: Engine, statement: str, match: str, **params: object) -> None:
    with pytest.raises(DBAPIError, match=match), db.begin() as conn:
        conn.execute(text(statement), params)


def row(engine: Engine, cid: int) -> tuple[object, ...]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(
                select(
                    campaign.c.status,
                    campaign.c.created_by,
                    campaign.c.submitted_by,
                    campaign.c.approved_by,
                ).where(campaign.c.id == cid)
            ).one()
        )


APPROVE = "UPDATE campaign SET status = 'approved', approved_by = :who, approved_at = now() "


def test_the_storage_path_works_as_each_login(
    cluster: Cluster, engine: Engine, world: World
) -> None:
    cid = drafted(cluster, world)
    campaigns.approve(cluster.as_role(OLENA), cid, actor=OLENA)
    assert row(engine, cid) == ("approved", ANA, ANA, OLENA)
    sender = cluster.as_role(SENDER)
    built = campaign_fanout.run_due(sender, owner="e1", now=LATER)
    assert built == [campaign_fanout.BuildResult(cid, 5)]
    maria = world.accounts["300000000001"]
    snapshot(engine, world.eh, [(maria, 0, LATER.date(), LATER.date())])
    assert campaign_fanout.drop_paid(cluster.as_role(ADMIN), world.eh, actor=ADMIN) == 2
    claimed = outbox.claim_batch(sender, owner="e1", channels=["sms", "telegram"], now=LATER)
    assert len(claimed) == 3


def test_nobody_approves_their_own_campaign(cluster: Cluster, engine: Engine, world: World) -> None:
    cid = drafted(cluster, world, author=BOHDAN)
    refused(
        cluster.as_role(BOHDAN),
        APPROVE + "WHERE id = :id",
        "four-eyes: nobody approves their own campaign",
        who=OLENA,
        id=cid,
    )
    with pytest.raises(CampaignError, match="four-eyes"):
        campaigns.approve(cluster.as_role(BOHDAN), cid, actor=BOHDAN)
    assert row(engine, cid) == ("submitted", BOHDAN, BOHDAN, None)


def test_a_dispatcher_or_viewer_cannot_approve(
    cluster: Cluster, engine: Engine, world: World
) -> None:
    cid = drafted(cluster, world)
    refused(
        cluster.as_role(DMYTRO),
        APPROVE + "WHERE id = :id",
        "may not approve campaigns",
        who=BOHDAN,
        id=cid,
    )
    refused(
        cluster.as_role(VIKTOR), APPROVE + "WHERE id = :id", "permission denied", who=BOHDAN, id=cid
    )
    assert row(engine, cid) == ("submitted", ANA, ANA, None)


def test_approving_by_hand_records_the_real_approver(
    cluster: Cluster, engine: Engine, world: World
) -> None:
    cid = drafted(cluster, world)
    with cluster.as_role(OLENA).begin() as conn:
        conn.execute(text(APPROVE + "WHERE id = :id"), {"who": BOHDAN, "id": cid})
    assert row(engine, cid) == ("approved", ANA, ANA, OLENA)
    with engine.connect() as conn:
        sendable = set(conn.scalars(campaigns.sendable_campaign_ids()))
    assert cid not in sendable, "no audited approval: it sends nothing"
    assert campaign_fanout.run_due(cluster.as_role(SENDER), owner="e1", now=LATER) == []


def test_a_new_campaign_is_a_draft_by_its_session_user(
    cluster: Cluster, engine: Engine, world: World
) -> None:
    insert = (
        "INSERT INTO campaign (utility_id, kind, min_days_overdue, snapshot_id, channels, "
        "due_at, status, created_by, created_at, approved_by) SELECT :u, 'payment_reminder', "
        "5, max(id), '[\"sms\"]', now(), :status, :by, now(), :approver FROM balance_snapshot"
    )
    ana = cluster.as_role(ANA)
    refused(
        ana,
        insert,
        "a new campaign is an unapproved draft",
        u=world.eh,
        status="approved",
        by=BOHDAN,
        approver=OLENA,
    )
    refused(
        cluster.as_role(VIKTOR),
        insert,
        "permission denied",
        u=world.eh,
        status="draft",
        by=ANA,
        approver=None,
    )
    with ana.begin() as conn:
        conn.execute(
            text(insert), {"u": world.eh, "status": "draft", "by": BOHDAN, "approver": None}
        )
    with engine.connect() as conn:
        assert conn.scalar(select(campaign.c.created_by)) == ANA


def test_content_author_and_lease_are_not_an_operators_to_change(
    cluster: Cluster, engine: Engine, world: World
) -> None:
    cid = drafted(cluster, world)
    ana = cluster.as_role(ANA)
    refused(
        ana,
        "UPDATE campaign SET min_days_overdue = 1 WHERE id = :id",
        "changes only while it is a draft",
        id=cid,
    )
    refused(
        ana,
        "UPDATE campaign SET created_by = :who WHERE id = :id",
        "keeps its author",
        who=DMYTRO,
        id=cid,
    )
    refused(
        ana,
        "UPDATE campaign SET status = 'sending', lease_owner = 'me', lease_until = now() "
        "WHERE id = :id",
        "only the engine holds its fan-out",
        id=cid,
    )
    refused(ana, "DELETE FROM campaign WHERE id = :id", "permission denied", id=cid)
    campaigns.cancel(ana, cid, actor=ANA)
    refused(
        cluster.as_role(OLENA),
        APPROVE + "WHERE id = :id",
        "a cancelled campaign cannot become approved",
        who=OLENA,
        id=cid,
    )


def test_only_the_engine_makes_messages_and_only_for_an_approved_campaign(
    cluster: Cluster, engine: Engine, world: World
) -> None:
    cid = drafted(cluster, world)
    forge = (
        "INSERT INTO message (campaign_id, contact_id, channel, address, language, body, "
        "segments, status, attempts, next_attempt_at, expires_at, created_at) "
        "VALUES (:id, NULL, 'sms', '+359888000000', 'bg', 'pay now', 1, 'pending', 0, "
        "now(), now() + interval '1 day', now())"
    )
    refused(cluster.as_role(ANA), forge, "permission denied", id=cid)
    sender = cluster.as_role(SENDER)
    refused(sender, forge, "made only by the engine, for an approved campaign", id=cid)
    refused(
        sender,
        "UPDATE campaign SET status = 'sending' WHERE id = :id",
        "the engine only sends an approved campaign",
        id=cid,
    )
    refused(
        sender,
        APPROVE + "WHERE id = :id",
        "permission denied|the engine only sends",
        who=OLENA,
        id=cid,
    )
    with engine.connect() as conn:
        assert conn.scalar(select(message.c.id).where(message.c.campaign_id == cid)) is None
    assert row(engine, cid) == ("submitted", ANA, ANA, None)
