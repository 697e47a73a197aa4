"""Outages finish (issue 11, hole 5): a running engine moves an approved outage
to completed once its end has passed, recorded in the audit as the engine's
OS user, so the live lists stop growing."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from dispatch_tui.os_user import current_login
from dispatch_tui.storage.tables import audit_log, outage, utility
from tests.engine.conftest import Recording, running, until
from tests.engine.factory import approved_notice, make_outbox


async def test_the_engine_completes_an_outage_after_its_end(engine: Engine) -> None:
    make_outbox(engine, 1)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        uid = conn.execute(select(utility.c.id)).scalars().first()
        assert uid is not None
        ended, _ = approved_notice(
            conn,
            uid,
            ["sms"],
            starts_in=timedelta(hours=-3),
            hours=2,
            notice_status="done",
            now=now,
        )

    def status_of(oid: int) -> str:
        with engine.connect() as conn:
            return str(conn.execute(select(outage.c.status).where(outage.c.id == oid)).scalar())

    async with running(engine, {"sms": Recording("sms")}, expire_seconds=0.2):
        await until(lambda: status_of(ended) == "completed", what="the ended outage completed")
    live = [oid for oid in range(1, ended) if status_of(oid) == "approved"]
    assert live, "the outage that has not ended stays approved"
    with engine.connect() as conn:
        entry = conn.execute(
            select(audit_log.c.actor, audit_log.c.detail).where(audit_log.c.action == "complete")
        ).one()
    assert entry.actor == current_login()
    detail = entry.detail if isinstance(entry.detail, dict) else json.loads(entry.detail)
    assert detail["revision"] == 1
