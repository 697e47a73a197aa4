"""Meter readings on PostgreSQL (migration 0027), tried as a colleague with psql would:
the engine takes SMS readings, an operator records only a meter change, a viewer
nothing, the web only readings naming the subscriber a proof of its own transaction
matched; nobody rewrites a reading, and the actor is the session user."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select, text

from dispatch_tui.storage import inbound
from dispatch_tui.storage.readings import record_meter_change
from dispatch_tui.storage.tables import meter_reading, metering_point
from tests.security.pg_roles import ANA, SENDER, VIKTOR, Cluster, cluster  # noqa: F401
from tests.security.test_pg_web_role import refused, web  # noqa: F401

NOW = datetime(2026, 11, 30, 10, tzinfo=UTC)
IVAN = "+380501234567"
ROW = (
    "INSERT INTO meter_reading (utility_id, subscriber_id, mp_id, identifier, period, "
    "value_wh, channel, received_at, text, status, meter_change, actor) "
    "VALUES ((SELECT id FROM utility WHERE code = 'ZOE'), "
    "(SELECT id FROM subscriber WHERE account = '100000002'), "
    "(SELECT id FROM metering_point WHERE mp_id = '100000002'), "
    "'100000002', '2026-11', 1, :channel, now(), 'x', 'accepted', :change, 'someone')"
)


def test_the_engine_takes_sms_readings_as_itself(cluster: Cluster, engine: Engine) -> None:  # noqa: F811
    sender = cluster.as_role(SENDER)
    result = inbound.handle_inbound(
        sender, sender=IVAN, receiver="5555", text="100000002 12345", now=NOW
    )
    assert result.outcome == "reading accepted"
    with engine.connect() as conn:
        row = conn.execute(select(meter_reading)).one()
    assert (row.actor, row.inbound_id) == (SENDER, result.inbound_id)
    assert "only an operator" in refused(sender, ROW, channel="operator", change=True)
    # Never rewritten: not the value, not back to accepted, not its evidence.
    assert "permission denied" in refused(sender, "UPDATE meter_reading SET value_wh = 1")
    assert "accepted to replaced" in refused(
        sender, "UPDATE meter_reading SET status = 'refused', inbound_id = NULL"
    )
    assert "permission denied" in refused(sender, "DELETE FROM meter_reading")


def test_an_operator_records_a_meter_change_only(cluster: Cluster, engine: Engine) -> None:  # noqa: F811
    ana, viktor = cluster.as_role(ANA), cluster.as_role(VIKTOR)
    with engine.connect() as conn:
        point = conn.execute(
            select(metering_point.c.id).where(metering_point.c.mp_id == "100000002")
        ).scalar_one()
    record_meter_change(ana, point, "0", actor=ANA, note="new meter", now=NOW)
    assert "readings come by SMS" in refused(ana, ROW, channel="sms", change=False)
    assert "not readings" in refused(ana, ROW, channel="operator", change=False)
    assert "permission denied" in refused(viktor, ROW, channel="operator", change=True)
    assert "permission denied" in refused(ana, "UPDATE meter_reading SET status = 'replaced'")
    with viktor.connect() as conn:
        [row] = conn.execute(select(meter_reading.c.actor, meter_reading.c.meter_change)).all()
    assert tuple(row) == (ANA, True)


def test_the_web_cannot_take_a_reading_without_a_proof(web: Engine, engine: Engine) -> None:  # noqa: F811
    """With the web's password in psql: a reading naming an account, or replacing one,
    without a proof matched in the same transaction is refused; a refused one naming
    nobody goes in (every intake is kept)."""
    with engine.connect() as conn:
        ids = conn.execute(
            text(
                "SELECT u.id AS u, s.id AS s, m.id AS m FROM subscriber s "
                "JOIN utility u ON u.id = s.utility_id JOIN subscription sn "
                "ON sn.subscriber_id = s.id JOIN metering_point m ON m.id = sn.mp_id "
                "WHERE m.mp_id = '100000002'"
            )
        ).one()
    forged = (
        "INSERT INTO meter_reading (utility_id, subscriber_id, mp_id, identifier, period, "
        "value_wh, channel, received_at, text, status, actor) VALUES (:u, :s, :m, "
        "'100000002', '2026-11', 1, :channel, now(), 'x', 'accepted', 'x')"
    )
    params = {"u": ids.u, "s": ids.s, "m": ids.m}
    assert "proof matched" in refused(web, forged, channel="web", **params)
    assert "its form only" in refused(web, forged, channel="sms", **params)
    with web.begin() as conn:
        replace = text("SELECT dispatch_web_replace_reading(:s, :m, '2026-11')")
        assert conn.execute(replace, params).scalar_one() == 0
        points = text("SELECT * FROM dispatch_web_reading_points(:s, NULL, 'UA-777002')")
        assert conn.execute(points, params).all() == []
        conn.execute(
            text(
                "INSERT INTO meter_reading (utility_id, identifier, channel, received_at, text, "
                "status, reason, actor) VALUES (NULL, '1', 'web', now(), 'x', 'refused', "
                "'unknown_account', 'x')"
            )
        )
    assert "permission denied" in refused(web, "SELECT value_wh FROM meter_reading")
    assert "permission denied" in refused(web, "UPDATE meter_reading SET status = 'replaced'")
