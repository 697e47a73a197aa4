"""Issue 10, attack 4: a viewer and an unregistered login ran `dispatch-tui import
utilities|subscribers ...`, changed a utility's contact number (printed in every notice)
and added their phone to a stranger's account. Imports are an admin's act, checked in
storage inside the import's transaction with the one role check (users.refusal_for):
refused through the installed command as real second OS users, and in process through
storage, on SQLite and PostgreSQL; nothing changes, not even the audit log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.os_user import current_login
from dispatch_tui.storage import users
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.importers import IMPORTERS, ImportRefused, ImportSummary, import_file
from dispatch_tui.storage.tables import contact, utility
from tests.cli.os_users import Shared, available, shared_database
from tests.storage.csvdata import FILES, dump, load_all, write

ME = current_login()

EVIL = {
    "utilities": FILES["utilities"].replace("080 30 19", "031 666 666"),
    "subscribers": FILES["subscribers"].replace(
        "EG,100235,Janez Kranjc,en,+386 31 555 666", "EG,100235,Janez Kranjc,en,+386 31 666 666"
    ),
}
"""The attacks: the Slovenian utility's contact number, and a stranger's phone number on
Janez Kranjc's account."""


def contact_phone(engine: Engine) -> str:
    with engine.connect() as conn:
        query = select(utility.c.contact_phone).where(utility.c.code == "EG")
        return str(conn.execute(query).scalar_one())


def phones(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        query = select(contact.c.address).where(contact.c.channel == "sms")
        return set(conn.execute(query).scalars())


def changed(engine: Engine, kind: str) -> bool:
    """Whether the attack of `kind` is in the database."""
    if kind == "utilities":
        return contact_phone(engine) == "031 666 666"
    return "+38631666666" in phones(engine)


# --- the installed command, as real second OS users ------------------------------------------


@pytest.fixture
def shared(backend: str, request: pytest.FixtureRequest) -> Iterator[Shared]:
    """A shared database with the sample data, imported by the OS user running the tests
    while it had no operators, who then became its admin; dt_ana is an admin too."""
    available()
    with shared_database(backend, request) as shared:
        for kind, content in FILES.items():
            path = write(shared.directory, f"{kind}.csv", content)
            done = shared.run(None, "import", kind, str(path))
            assert done.returncode == 0, done.stderr
        for args in (["init", "--admin", ME], ["users", "add", "dt_ana", "admin"]):
            assert shared.run(None, *args).returncode == 0
        yield shared


@pytest.mark.parametrize("kind", ["utilities", "subscribers"])
@pytest.mark.parametrize("who", ["viewer", "unregistered"])
def test_only_an_admin_imports_through_the_command(shared: Shared, who: str, kind: str) -> None:
    if who == "viewer":
        assert shared.run(None, "users", "add", "dt_eve", "viewer").returncode == 0
    evil = write(shared.directory, f"evil-{kind}.csv", EVIL[kind])
    engine = create_db_engine(shared.url)
    try:
        before = dump(engine)
        done = shared.run("dt_eve", "import", kind, str(evil), LOGNAME=ME, USER=ME)
        assert done.returncode == 1, done.stderr
        reason = (
            "a viewer may not import data; ask an admin to do it"
            if who == "viewer"
            else "'dt_eve' is not a dispatch-tui user; ask an admin to add you"
        )
        assert f"{reason}; nothing was imported" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr
        assert dump(engine) == before
        assert not changed(engine, kind)

        control = shared.run("dt_ana", "import", kind, str(evil))
        assert control.returncode == 0, control.stderr
        assert changed(engine, kind), "an admin's import of the same file is written"
    finally:
        engine.dispose()


# --- in process, through storage -------------------------------------------------------------


@pytest.fixture
def loaded(engine: Engine, tmp_path: Path) -> Engine:
    """The sample data, then root as admin and viktor as viewer."""
    load_all(engine, tmp_path)
    users.bootstrap_admin(engine, "root", actor="root")
    users.add_operator(engine, "viktor", "viewer", actor="root")
    return engine


def importer_alone(engine: Engine, kind: str, path: Path, *, actor: str) -> ImportSummary:
    """The importer without import_file's early check: only its own, in the transaction."""
    return IMPORTERS[kind](engine, path, actor=actor)


@pytest.mark.parametrize("kind", ["utilities", "subscribers", "network", "metering-points"])
@pytest.mark.parametrize("actor", ["viktor", "nobody"])
def test_storage_refuses_imports_by_anyone_but_an_admin(
    loaded: Engine, tmp_path: Path, actor: str, kind: str
) -> None:
    """Both through import_file and through each importer itself, whose check is the
    one inside the write transaction."""
    path = write(tmp_path, "again.csv", EVIL.get(kind, FILES[kind]))
    before = dump(loaded)
    for run in (import_file, importer_alone):
        with pytest.raises(ImportRefused, match="nothing was imported") as refused:
            run(loaded, kind, path, actor=actor)
        who = "a viewer may not import data" if actor == "viktor" else "'nobody' is not a"
        assert who in str(refused.value)
    assert dump(loaded) == before


def test_storage_imports_for_an_admin(loaded: Engine, tmp_path: Path) -> None:
    for kind, content in EVIL.items():
        import_file(loaded, kind, write(tmp_path, f"{kind}.csv", content), actor="root")
        assert changed(loaded, kind)


def test_a_database_without_operators_is_being_set_up(engine: Engine, tmp_path: Path) -> None:
    """Before the first admin (`init`, imports, `init --admin`) whoever runs it imports;
    once anyone is registered, only admins do."""
    import_file(engine, "utilities", write(tmp_path, "u.csv", FILES["utilities"]), actor="x")
    users.bootstrap_admin(engine, "root", actor="x")
    with pytest.raises(ImportRefused, match="'x' is not a dispatch-tui user"):
        import_file(engine, "utilities", write(tmp_path, "e.csv", EVIL["utilities"]), actor="x")
    assert not changed(engine, "utilities")
