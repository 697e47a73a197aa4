"""Balances import (issue 14): snapshots in minor units with their history, and every
kind of bad input refused with one message naming the file, the line and the column,
the database unchanged."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from dispatch_tui.storage import users
from dispatch_tui.storage.importers import (
    IMPORTERS,
    ImportFailed,
    ImportRefused,
    import_file,
)
from dispatch_tui.storage.tables import audit_log, balance, balance_snapshot, subscriber
from tests.storage.csvdata import dump, write

GOOD = """account,amount,currency,due_date,last_payment_date
100234,123.45,EUR,2026-12-15,2026-10-14
100235,"0,50",eur,15.12.2026,
"""
"""Elektro Gorenjska's two accounts: a dot and a comma, ISO and dotted dates."""

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def run(engine: Engine, path: Path, **options: str | None) -> object:
    options.setdefault("utility_code", "EG")
    return IMPORTERS["balances"](engine, path, actor="tester", now=NOW, **options)


def rows(engine: Engine) -> dict[tuple[int, str], tuple[object, ...]]:
    with engine.connect() as conn:
        found = conn.execute(
            select(
                balance.c.snapshot_id,
                subscriber.c.account,
                balance.c.amount_minor,
                balance.c.currency,
                balance.c.due_date,
                balance.c.last_payment_date,
            ).join(subscriber, subscriber.c.id == balance.c.subscriber_id)
        )
        return {(r[0], r[1]): tuple(r[2:]) for r in found}


def test_a_snapshot_in_minor_units_with_its_history(loaded: Engine, tmp_path: Path) -> None:
    summary = run(loaded, write(tmp_path, "nov.csv", GOOD), as_of="2026-11-30 08:00")
    assert str(summary) == "balances: 2 rows — 2 new, 0 changed, 0 unchanged"
    later = GOOD.replace("123.45", "0").replace("2026-10-14", "2026-11-30")
    run(loaded, write(tmp_path, "dec.csv", later), as_of="2026-12-01")
    with loaded.connect() as conn:
        snapshots = conn.execute(
            select(
                balance_snapshot.c.id, balance_snapshot.c.as_of, balance_snapshot.c.rows
            ).order_by(balance_snapshot.c.id)
        ).all()
        audited = conn.execute(
            select(audit_log.c.entity, audit_log.c.entity_id, audit_log.c.detail).where(
                audit_log.c.action == "import"
            )
        ).all()
    first, second = (s.id for s in snapshots)
    # Local time of Ljubljana (UTC+1 in winter); the later snapshot at local midnight.
    assert [s.as_of for s in snapshots] == [
        datetime(2026, 11, 30, 7, 0, tzinfo=UTC),
        datetime(2026, 11, 30, 23, 0, tzinfo=UTC),
    ]
    stored = rows(loaded)
    assert stored[(first, "100234")] == (12345, "EUR", date(2026, 12, 15), date(2026, 10, 14))
    assert stored[(first, "100235")] == (50, "EUR", date(2026, 12, 15), None)
    assert stored[(second, "100234")] == (0, "EUR", date(2026, 12, 15), date(2026, 11, 30))
    recorded = {entity_id: detail for entity, entity_id, detail in audited if entity == "balances"}
    assert recorded["nov.csv"]["utility"] == "EG" and recorded["dec.csv"]["snapshot"] == second
    assert recorded["nov.csv"]["as_of"] == "2026-11-30T07:00:00+00:00"


def test_client_number_names_the_account_and_one_utility_needs_no_option(
    engine: Engine, tmp_path: Path
) -> None:
    from tests.storage.csvdata import FILES

    only_bg = {
        kind: "\n".join(
            line for line in content.splitlines() if not line.startswith(("EG,", "ZOE,"))
        )
        + "\n"
        for kind, content in FILES.items()
    }
    for kind in ("utilities", "network", "metering-points", "subscribers"):
        import_file(engine, kind, write(tmp_path, f"{kind}.csv", only_bg[kind]), actor="t")
    content = "client_number;amount;currency;due_date\n3000 0000 0001;-12,00;BGN;2026-12-20\n"
    IMPORTERS["balances"](engine, write(tmp_path, "bg.csv", content), actor="t", now=NOW)
    assert list(rows(engine).values()) == [(-1200, "BGN", date(2026, 12, 20), None)]


BAD_ROWS = [
    (
        "unknown account",
        "999999,1.00,EUR,2026-12-15,",
        "line 2: column 'account': unknown account '999999'",
    ),
    ("not an account", "12ab,1.00,EUR,2026-12-15,", "line 2: column 'account': customer number"),
    ("three commas", '100234,"12,3,4",EUR,2026-12-15,', "line 2: column 'amount': amount '12,3,4'"),
    (
        "three decimals",
        "100234,1.234,EUR,2026-12-15,",
        "line 2: column 'amount': amount '1.234' has more than 2 decimals",
    ),
    ("grouping", '100234,"1.234,56",EUR,2026-12-15,', "line 2: column 'amount'"),
    ("empty amount", "100234,,EUR,2026-12-15,", "line 2: column 'amount'"),
    ("letters", "100234,12 EUR,EUR,2026-12-15,", "line 2: column 'amount'"),
    (
        "long currency",
        "100234,1.00,EURO,2026-12-15,",
        "line 2: column 'currency': currency 'EURO' must be a 3-letter",
    ),
    (
        "no such currency",
        "100234,1.00,XQQ,2026-12-15,",
        "line 2: column 'currency': currency 'XQQ' is not an ISO 4217",
    ),
    (
        "bad due date",
        "100234,1.00,EUR,2026-13-01,",
        "line 2: column 'due_date': date '2026-13-01' does not exist",
    ),
    ("words for a date", "100234,1.00,EUR,tomorrow,", "line 2: column 'due_date': date 'tomorrow'"),
    (
        "bad payment date",
        "100234,1.00,EUR,2026-12-15,31.02.2026",
        "line 2: column 'last_payment_date'",
    ),
    ("ragged", "100234,1.00,EUR", "line 2: expected 5 fields, found 3"),
]


SQLITE_ONLY = pytest.mark.parametrize("backend", ["sqlite"])
"""Rows are checked before anything is written, alike on both backends; unknown and
duplicate accounts, looked up in the database, run on each below."""


@SQLITE_ONLY
@pytest.mark.parametrize(("_name", "row", "message"), BAD_ROWS, ids=[b[0] for b in BAD_ROWS])
def test_a_bad_row_is_refused_naming_file_line_and_column(
    loaded: Engine, tmp_path: Path, _name: str, row: str, message: str
) -> None:
    content = "account,amount,currency,due_date,last_payment_date\n" + row + "\n"
    path = write(tmp_path, "bad.csv", content + GOOD.splitlines()[2] + "\n")
    before = dump(loaded)
    with pytest.raises(ImportFailed) as failed:
        run(loaded, path)
    report = failed.value.report()
    assert report.startswith(f"{path}: 1 error, nothing was imported"), report
    assert message in report
    assert dump(loaded) == before


BAD_FILES = [
    (
        "duplicate",
        GOOD + "100234,1.00,EUR,2026-12-15,\n",
        "line 4: column 'account': duplicate account '100234' (also on line 2)",
    ),
    (
        "no currency column",
        "account,amount,due_date\n100234,1.00,2026-12-15\n",
        "line 1: missing column(s): currency",
    ),
    (
        "no account column",
        "amount,currency,due_date\n1.00,EUR,2026-12-15\n",
        "line 1: missing column: account (or client_number)",
    ),
    (
        "both account columns",
        "account,client_number,amount,currency,due_date\n1,1,1,EUR,2026-12-15\n",
        "not both",
    ),
    (
        "unknown column",
        "account,amount,currency,due_date,owner\n100234,1,EUR,2026-12-15,x\n",
        "unknown column 'owner'",
    ),
    ("empty", "", "the file is empty (0 bytes)"),
    ("header only", "account,amount,currency,due_date\n", "no data rows after the header"),
]


@SQLITE_ONLY
@pytest.mark.parametrize(("_name", "content", "message"), BAD_FILES, ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_is_refused(
    loaded: Engine, tmp_path: Path, _name: str, content: str, message: str
) -> None:
    path = write(tmp_path, "bad.csv", content)
    before = dump(loaded)
    with pytest.raises(ImportFailed, match="nothing was imported") as failed:
        run(loaded, path)
    assert str(path) in failed.value.report() and message in failed.value.report()
    assert dump(loaded) == before


def test_unknown_and_duplicate_accounts_on_each_backend(loaded: Engine, tmp_path: Path) -> None:
    content = GOOD + "999999,1.00,EUR,2026-12-15,\n100235,1.00,EUR,2026-12-15,\n"
    before = dump(loaded)
    with pytest.raises(ImportFailed) as failed:
        run(loaded, write(tmp_path, "bad.csv", content))
    assert "2 errors" in failed.value.report()
    assert "line 4: column 'account': unknown account '999999'" in failed.value.report()
    assert "line 5: column 'account': duplicate account '100235' (also on line 3)" in str(
        failed.value
    )
    assert dump(loaded) == before


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"as_of": "2026-11-30 08:00"}, "is not newer than EG's newest snapshot (2026-11-30 08:00"),
        ({"as_of": "2026-11-01"}, "is not newer than EG's newest snapshot"),
        ({"as_of": "30.11.2026"}, "--as-of: '30.11.2026 00:00' is not a date and time"),
        ({"as_of": "2027-01-01"}, "--as-of: 2027-01-01 is in the future"),
        ({"as_of": "2026-03-29 02:30"}, "does not exist in Europe/Ljubljana"),
        ({"utility_code": "XX"}, "--utility: unknown utility 'XX' (known: EG, EH, ZOE)"),
        ({"utility_code": None}, "several utilities: name one with --utility (EG, EH, ZOE)"),
    ],
)
def test_a_bad_snapshot_moment_or_utility_is_refused(
    loaded: Engine, tmp_path: Path, options: dict[str, str | None], message: str
) -> None:
    run(loaded, write(tmp_path, "first.csv", GOOD), as_of="2026-11-30 08:00")
    before = dump(loaded)
    with pytest.raises(ImportFailed, match="nothing was imported") as failed:
        run(loaded, write(tmp_path, "second.csv", GOOD), **options)
    assert message in failed.value.report()
    assert dump(loaded) == before


@pytest.mark.parametrize("actor", ["viktor", "dana", "nobody"])
def test_only_an_admin_imports_balances_checked_in_the_transaction(
    loaded: Engine, tmp_path: Path, actor: str
) -> None:
    users.bootstrap_admin(loaded, "root", actor="root")
    users.add_operator(loaded, "viktor", "viewer", actor="root")
    users.add_operator(loaded, "dana", "dispatcher", actor="root")
    path = write(tmp_path, "b.csv", GOOD)
    before = dump(loaded)
    with pytest.raises(ImportRefused, match="nothing was imported"):
        import_file(loaded, "balances", path, actor=actor, utility_code="EG")
    with pytest.raises(ImportRefused, match="nothing was imported"):
        IMPORTERS["balances"](loaded, path, actor=actor, utility_code="EG")
    assert dump(loaded) == before
    import_file(loaded, "balances", path, actor="root", utility_code="EG")
    with loaded.connect() as conn:
        assert conn.execute(select(func.count()).select_from(balance)).scalar_one() == 2
