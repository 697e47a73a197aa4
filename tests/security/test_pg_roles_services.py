"""Issue 14 on PostgreSQL: a dispatcher with a database login of their own tries what
only an admin or the engine may do with the account services. Balances come from an
admin's import only; an operator records opt-outs of a service, never an opt-in; bill
checks are the engine's record."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError

from dispatch_tui.storage import inbound, services
from dispatch_tui.storage.importers import IMPORTERS, ImportRefused
from dispatch_tui.storage.tables import (
    balance,
    balance_snapshot,
    bill_check,
    contact,
    contact_service,
)
from tests.security.pg_roles import ADMIN, ANA, SENDER, Cluster, cluster
from tests.storage.csvdata import write

__all__ = ["cluster"]

pytestmark = pytest.mark.parametrize("backend", ["postgresql"])

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
BALANCES = "account,amount,currency,due_date\n100234,12.00,EUR,2026-12-15\n"


def refused(db: Engine, statement: str, match: str, **params: object) -> None:
    with pytest.raises(DBAPIError, match=match), db.begin() as conn:
        conn.execute(text(statement), params)


def a_contact(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.min(contact.c.id))).scalar_one())


def count(engine: Engine, table: object) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())  # type: ignore[arg-type]


def test_a_dispatcher_cannot_import_balances_or_write_them(
    cluster: Cluster, engine: Engine, tmp_path: Path
) -> None:
    path = write(tmp_path, "b.csv", BALANCES)
    ana = cluster.as_role(ANA)
    with pytest.raises(ImportRefused, match="a dispatcher may not import data"):
        IMPORTERS["balances"](ana, path, actor=ANA, utility_code="EG", now=NOW)
    refused(
        ana,
        "INSERT INTO balance_snapshot (utility_id, as_of, imported_at, imported_by, source, rows)"
        " VALUES (:u, now(), now(), 'x', 'x', 0)",
        "permission denied",
        u=cluster.ids["EG"],
    )
    IMPORTERS["balances"](cluster.as_role(ADMIN), path, actor=ADMIN, utility_code="EG", now=NOW)
    refused(
        ana,
        "INSERT INTO balance (snapshot_id, subscriber_id, amount_minor, currency, due_date)"
        " SELECT id, (SELECT min(id) FROM subscriber), 1, 'EUR', '2026-12-15'"
        " FROM balance_snapshot",
        "permission denied",
    )
    refused(ana, "UPDATE balance SET amount_minor = 0", "permission denied")
    refused(ana, "DELETE FROM balance_snapshot", "permission denied")
    refused(
        ana,
        "INSERT INTO bill_check (at, channel, outcome) VALUES (now(), 'sms', 'answered')",
        "permission denied",
    )
    assert count(engine, balance_snapshot) == 1 and count(engine, balance) == 1


def test_a_dispatcher_records_opt_outs_of_a_service_never_opt_ins(
    cluster: Cluster, engine: Engine
) -> None:
    cid = a_contact(engine)
    ana = cluster.as_role(ANA)
    refused(
        ana,
        "INSERT INTO contact_service (contact_id, service, consent, consent_at, consent_source)"
        " VALUES (:c, 'bill_info', 'opted_in', now(), 'me')",
        "an operator only records an opt-out",
        c=cid,
    )
    with (
        pytest.raises(DBAPIError, match="an operator only records an opt-out"),
        ana.begin() as conn,
    ):
        services.set_service_consent(
            conn, [cid], "payment_reminder", opted_in=True, now=NOW, source="ana"
        )
    # The engine (a customer's own request by bot or SMS) opts in; the dispatcher opts out.
    with cluster.as_role(SENDER).begin() as conn:
        services.set_service_consent(
            conn, [cid], "bill_info", opted_in=True, now=NOW, source="telegram chat 1"
        )
    refused(
        ana,
        "UPDATE contact_service SET consent = 'opted_in' WHERE contact_id = :c",
        "an operator only records an opt-out",
        c=cid,
    )
    services.record_service_opt_out(ana, cid, "bill_info", actor=ANA, reason="asked by phone")
    with engine.connect() as conn:
        row = conn.execute(
            select(contact_service.c.consent, contact_service.c.consent_source)
        ).one()
    assert tuple(row) == ("opted_out", f"operator {ANA}: asked by phone")


def test_the_engine_answers_bill_checks_and_records_them(
    cluster: Cluster, engine: Engine, tmp_path: Path
) -> None:
    """The inbound SMS path runs as the engine's role: it reads balances, records the
    check, switches a phone's bill services and queues the reply."""
    path = write(tmp_path, "b.csv", BALANCES)
    IMPORTERS["balances"](cluster.as_role(ADMIN), path, actor=ADMIN, utility_code="EG", now=NOW)
    sender = cluster.as_role(SENDER)
    answered = inbound.handle_inbound(
        sender, sender="+38641123456", receiver="ElektroGor", text="RAČUN 100234", now=NOW
    )
    assert answered.reply == "100234: za plačilo 12,00 € do 15. 12. 26 (stanje 2. 12. 26)"
    inbound.handle_inbound(
        sender, sender="+38641123456", receiver="ElektroGor", text="RACUN START", now=NOW
    )
    with engine.connect() as conn:
        assert conn.execute(select(bill_check.c.outcome)).scalars().all() == ["answered"]
        assert count(engine, contact_service) == 2
