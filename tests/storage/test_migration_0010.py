"""Migration 0010 on a database with data, on both backends: replies are linked
to what they answer, an unlinked row that could still go out is cancelled (a
forged one must not become sendable), nothing is lost in SQLite's rebuild of
the message table, SMS sign-ups become unproven and SI ones scoped to what
they named, and the new CHECK holds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, func, select, text
from sqlalchemy.exc import IntegrityError

from dispatch_tui.storage import migrate
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.tables import (
    contact,
    contact_scope,
    delivery_event,
    inbound_message,
    message,
)

AT = "2026-11-20 10:00:00"


@pytest.fixture
def old(empty_db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(empty_db_url)
    migrate.upgrade(engine, "0009")
    yield engine
    engine.dispose()


def _id(conn: Connection, sql: str, **values: object) -> int:
    return int(conn.execute(text(sql + " RETURNING id"), values).scalar_one())


def _message(conn: Connection, body: str, status: str, channel: str = "sms") -> int:
    return _id(
        conn,
        "INSERT INTO message (channel, address, language, body, segments, status, attempts, "
        "next_attempt_at, expires_at, created_at) VALUES (:channel, :address, 'sl', :body, 1, "
        ":status, 0, :at, '2099-01-01 00:00:00', :at)",
        channel=channel,
        address="555" if channel == "telegram" else "+38640999888",
        body=body,
        status=status,
        at=AT,
    )


def _seed(engine: Engine) -> dict[str, int]:
    with engine.begin() as conn:
        uid = _id(
            conn,
            "INSERT INTO utility (code, name, country, timezone, language, contact_phone, "
            "sms_sender) VALUES ('EG', 'EG', 'SI', 'Europe/Ljubljana', 'sl', '080', 'EG')",
        )
        node = _id(
            conn,
            "INSERT INTO node (utility_id, kind, code, name, path, mp_count, subscriber_count) "
            "VALUES (:u, 'region', 'R', 'R', '/1/', 2, 1)",
            u=uid,
        )
        mps = [
            _id(
                conn,
                "INSERT INTO metering_point (utility_id, node_id, path, mp_id, settlement, "
                "street, house, search_key, priority) VALUES (:u, :n, '/1/', :mp, 'Kranj', "
                "'Glavna', '1', 'k', :no)",
                u=uid,
                n=node,
                mp=mp,
                no=False,
            )
            for mp in ("6-100001", "6-100002")
        ]
        sid = _id(
            conn,
            "INSERT INTO subscriber (utility_id, account, name, language, created_at) "
            "VALUES (:u, '100234', 'Ana', 'sl', :at)",
            u=uid,
            at=AT,
        )
        for mp in mps:
            conn.execute(
                text(
                    "INSERT INTO subscription (subscriber_id, mp_id, created_at) "
                    "VALUES (:s, :m, :at)"
                ),
                {"s": sid, "m": mp, "at": AT},
            )
        ids = {"mp1": mps[0]}
        for name, address, source in (
            ("imported", "+38641123456", "import subscribers.csv"),
            ("stranger", "+38640999888", "SMS '6100001 PRIJAVA' from +38640999888"),
        ):
            ids[name] = _id(
                conn,
                "INSERT INTO contact (subscriber_id, channel, address, consent, consent_at, "
                "consent_source) VALUES (:s, 'sms', :a, 'opted_in', :at, :src)",
                s=sid,
                a=address,
                at=AT,
                src=source,
            )
        ids["reply"] = _message(conn, "Prijava za 6-100001 je potrjena.", "delivered")
        ids["inbound"] = _id(
            conn,
            "INSERT INTO inbound_message (received_at, sender, receiver, text, command, "
            "identifier, outcome, replied, reply_message_id) VALUES (:at, '+38640999888', "
            "'041997400', '6100001 PRIJAVA', 'subscribe', '6-100001', 'opted in', :yes, :r)",
            at=AT,
            yes=True,
            r=ids["reply"],
        )
        ids["bot_reply"] = _message(conn, "Вітаємо!", "delivered", channel="telegram")
        ids["forged"] = _message(conn, "FAKE: power off tomorrow", "pending")
        for mid in (ids["reply"], ids["reply"], ids["bot_reply"]):
            conn.execute(
                text(
                    "INSERT INTO delivery_event (message_id, at, status, detail) "
                    "VALUES (:m, :at, 'delivered', '')"
                ),
                {"m": mid, "at": AT},
            )
    return ids


def test_existing_rows_are_linked_kept_and_constrained(old: Engine) -> None:
    ids = _seed(old)
    migrate.upgrade(old)
    with old.connect() as conn:
        linked = dict(conn.execute(select(message.c.id, message.c.inbound_id)).all())
        status = dict(conn.execute(select(message.c.id, message.c.status)).all())
        inbound = {
            r.id: r
            for r in conn.execute(
                select(
                    inbound_message.c.id,
                    inbound_message.c.channel,
                    inbound_message.c.sender,
                    inbound_message.c.outcome,
                    inbound_message.c.reply_message_id,
                )
            )
        }
        events = conn.execute(
            select(delivery_event.c.message_id, delivery_event.c.status).order_by(
                delivery_event.c.id
            )
        ).all()
        proven = dict(conn.execute(select(contact.c.id, contact.c.proven)).all())
        scopes = conn.execute(select(contact_scope.c.contact_id, contact_scope.c.mp_id)).all()

    assert linked[ids["reply"]] == ids["inbound"]
    assert inbound[ids["inbound"]].reply_message_id == ids["reply"]
    bot = inbound[linked[ids["bot_reply"]]]
    assert (bot.channel, bot.sender, bot.reply_message_id) == ("telegram", "555", ids["bot_reply"])
    assert bot.outcome.startswith("placeholder (migration 0010)")
    assert status[ids["bot_reply"]] == "delivered"
    assert status[ids["forged"]] == "cancelled" and linked[ids["forged"]] is not None
    # Three delivery events survived the rebuild, and the cancellation is recorded.
    assert [tuple(e) for e in events] == [
        (ids["reply"], "delivered"),
        (ids["reply"], "delivered"),
        (ids["bot_reply"], "delivered"),
        (ids["forged"], "cancelled"),
    ]
    assert proven == {ids["imported"]: True, ids["stranger"]: False}
    assert [tuple(s) for s in scopes] == [(ids["stranger"], ids["mp1"])]

    with pytest.raises(IntegrityError), old.begin() as conn:
        _message(conn, "FAKE again", "pending")
    with pytest.raises(IntegrityError), old.begin() as conn:
        conn.execute(text("UPDATE message SET status = 'bogus' WHERE id = :m"), {"m": ids["reply"]})
    with old.connect() as conn:
        assert conn.execute(select(func.count()).select_from(message)).scalar_one() == 3


def test_down_and_up_again_with_data(old: Engine) -> None:
    _seed(old)
    migrate.upgrade(old)
    migrate.downgrade(old, "0009")
    migrate.upgrade(old)
    with old.connect() as conn:
        assert conn.execute(select(func.count()).select_from(delivery_event)).scalar_one() == 4
        assert (
            conn.execute(select(func.count()).where(message.c.inbound_id.is_(None))).scalar_one()
            == 0
        )
