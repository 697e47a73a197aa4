"""Creating, upgrading and checking the schema with Alembic.

The migrations ship inside the package, so `dispatch-tui init` works from
an installed wheel without an alembic.ini.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from dispatch_tui.storage.db import DatabaseError

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def _run(engine: Engine, action: str, revision: str) -> None:
    cfg = _config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        getattr(command, action)(cfg, revision)


def upgrade(engine: Engine, revision: str = "head") -> None:
    _run(engine, "upgrade", revision)


def downgrade(engine: Engine, revision: str) -> None:
    _run(engine, "downgrade", revision)


def head_revision() -> str:
    head = ScriptDirectory(str(MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def check_schema(engine: Engine) -> None:
    """Refuse a database this version cannot safely use.

    A revision we do not know was written by a newer dispatch-tui: running
    on it could corrupt data that version relies on, so we stop.
    """
    script = ScriptDirectory(str(MIGRATIONS))
    current = current_revision(engine)
    where = engine.url.render_as_string(hide_password=True)
    if current is None:
        raise DatabaseError(f"{where} has no dispatch-tui schema yet: run `dispatch-tui init`")
    known = {rev.revision for rev in script.walk_revisions()}
    if current not in known:
        raise DatabaseError(
            f"{where} was created by a newer dispatch-tui (schema {current}); "
            f"this version knows up to {script.get_current_head()}: upgrade dispatch-tui"
        )
    if current != script.get_current_head():
        raise DatabaseError(
            f"{where} has an older schema ({current}): run `dispatch-tui init` to upgrade it"
        )


def init_database(engine: Engine) -> None:
    """Create or upgrade; refuses a newer database instead of touching it."""
    current = current_revision(engine)
    if current is not None:
        known = {rev.revision for rev in ScriptDirectory(str(MIGRATIONS)).walk_revisions()}
        if current not in known:
            check_schema(engine)
    upgrade(engine)
