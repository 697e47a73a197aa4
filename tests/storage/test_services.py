"""Consent per service on both backends (issue 14): opted in and out with time and
source, an operator's recorded opt-out role-checked and audited, and STOP by SMS ending
every service as well as outage notices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.storage import inbound, services, users
from dispatch_tui.storage.subscribers import SubscriberError
from dispatch_tui.storage.tables import audit_log, contact

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
MARIA = "+359888123456"


def maria(engine: Engine) -> int:
    with engine.connect() as conn:
        query = select(contact.c.id).where(contact.c.channel == "sms", contact.c.address == MARIA)
        return int(conn.execute(query).scalar_one())


def test_opt_in_and_out_keep_when_and_how(loaded: Engine) -> None:
    cid = maria(loaded)
    with loaded.begin() as conn:
        services.set_service_consent(
            conn, [cid], "bill_info", opted_in=True, now=NOW, source="telegram chat 1"
        )
        # Asked again: the first opt-in's time and source stay the evidence.
        services.set_service_consent(
            conn, [cid], "bill_info", opted_in=True, now=NOW + timedelta(hours=1), source="again"
        )
        services.set_service_consent(
            conn, [cid], "payment_reminder", opted_in=False, now=NOW, source="sms"
        )
        with pytest.raises(ValueError, match="unknown service 'outages'"):
            services.set_service_consent(conn, [cid], "outages", opted_in=True, now=NOW, source="")
    with loaded.connect() as conn:
        assert services.service_consents(conn, [cid]) == {
            cid: {"bill_info": "opted_in", "payment_reminder": "opted_out"}
        }
        assert services.service_states(conn, cid)["bill_info"].source == "telegram chat 1"


def test_stop_by_sms_ends_every_service(loaded: Engine) -> None:
    cid = maria(loaded)
    with loaded.begin() as conn:
        for service in ("bill_info", "payment_reminder", "reading_reminder"):
            services.set_service_consent(conn, [cid], service, opted_in=True, now=NOW, source="bot")
    inbound.handle_inbound(loaded, sender=MARIA, receiver="Electrohold", text="STOP", now=NOW)
    with loaded.connect() as conn:
        assert services.service_consents(conn, [cid]) == {
            cid: dict.fromkeys(("bill_info", "payment_reminder", "reading_reminder"), "opted_out")
        }
        assert conn.execute(select(contact.c.consent).where(contact.c.id == cid)).scalar() == (
            "opted_out"
        )


def test_an_operator_records_an_opt_out_of_one_service(loaded: Engine) -> None:
    users.bootstrap_admin(loaded, "root", actor="root")
    users.add_operator(loaded, "dana", "dispatcher", actor="root")
    users.add_operator(loaded, "viktor", "viewer", actor="root")
    cid = maria(loaded)
    with pytest.raises(SubscriberError, match="does not get bill information"):
        services.record_service_opt_out(loaded, cid, "bill_info", actor="dana", reason="phone")
    with loaded.begin() as conn:
        services.set_service_consent(conn, [cid], "bill_info", opted_in=True, now=NOW, source="b")
    with pytest.raises(SubscriberError, match="a viewer may not"):
        services.record_service_opt_out(loaded, cid, "bill_info", actor="viktor", reason="x")
    with pytest.raises(SubscriberError, match="say why"):
        services.record_service_opt_out(loaded, cid, "bill_info", actor="dana", reason=" ")
    services.record_service_opt_out(loaded, cid, "bill_info", actor="dana", reason="by phone")
    with loaded.connect() as conn:
        assert services.service_consents(conn, [cid]) == {cid: {"bill_info": "opted_out"}}
        audited = conn.execute(
            select(audit_log.c.actor, audit_log.c.action).where(
                audit_log.c.action == "opt_out_service"
            )
        ).all()
    assert [tuple(a) for a in audited] == [("dana", "opt_out_service")]
