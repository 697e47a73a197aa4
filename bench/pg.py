"""PostgreSQL for the benchmarks: the server named by DISPATCH_BENCH_PG_URL, or a
throw-away cluster with PostgreSQL's default durability (.ci/pg.sh, in
DISPATCH_BENCH_PG_DIR), holding the large demo. The demo is built once and
cached as a dump beside the SQLite one, so a rerun restores it (a minute)
instead of building it; on a server that outlives the run it is simply kept.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from dispatch_tui.storage import migrate
from dispatch_tui.storage.db import create_db_engine
from dispatch_tui.storage.demo import build_demo

URL_ENV = "DISPATCH_BENCH_PG_URL"
DIR_ENV = "DISPATCH_BENCH_PG_DIR"
BIN = Path("/usr/lib/postgresql/15/bin")
ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(__file__).resolve().parent / ".cache"
LARGE = f"bench_large_seed0_schema{migrate.head_revision()}"
DUMP = CACHE / f"{LARGE}.pgdump"

_server: dict[str, str] = {}


@contextmanager
def server() -> Iterator[str]:
    """The admin URL of the server the benchmarks use, for the length of the block."""
    given = os.environ.get(URL_ENV)
    if given:
        _server["url"] = given
        yield given
        return
    folder = os.environ.get(DIR_ENV, "/tmp/dispatch-bench-pg")
    script = str(ROOT / ".ci" / "pg.sh")
    url = subprocess.run(
        ["bash", script, "start", folder, "durable"], check=True, capture_output=True, text=True
    ).stdout.strip()
    _server.update(url=url, folder=folder)
    try:
        yield url
    finally:
        _server.clear()
        subprocess.run(["bash", script, "stop", folder], check=False)


def admin_url() -> str:
    if "url" not in _server:
        raise RuntimeError("no PostgreSQL server: run inside bench.pg.server()")
    return _server["url"]


def server_log() -> Path | None:
    """The server's log, when the benchmarks started the server."""
    return Path(_server["folder"]) / "server.log" if "folder" in _server else None


def url_of(database: str) -> str:
    return make_url(admin_url()).set(database=database).render_as_string(hide_password=False)


def _admin(sql: str) -> None:
    admin = create_engine(admin_url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(sql))
    admin.dispose()


def _exists(database: str) -> bool:
    admin = create_engine(admin_url())
    with admin.connect() as conn:
        found = conn.execute(
            text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
        ).first()
    admin.dispose()
    return found is not None


def _tool(name: str, *args: str) -> None:
    url = make_url(admin_url())
    subprocess.run(
        [
            str(BIN / name),
            "-h",
            str(url.host),
            "-p",
            str(url.port),
            "-U",
            str(url.username),
            *args,
        ],
        check=True,
    )


def fresh_database(name: str, template: str | None = None) -> str:
    """A new database (empty and migrated, or a copy of `template`): its URL."""
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    # A file copy: PostgreSQL 15's default logs every page of a 1 GB template to WAL.
    clone = f' TEMPLATE "{template}" STRATEGY file_copy' if template else ""
    _admin(f'CREATE DATABASE "{name}"{clone}')
    url = url_of(name)
    if template is None:
        engine = create_db_engine(url)
        migrate.init_database(engine)
        engine.dispose()
    return url


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def large_engine() -> Engine:
    """The large demo (seed 0) on the server: kept there, else restored from the
    cached dump, else built (and dumped for the next run)."""
    if not _exists(LARGE):
        if DUMP.exists():
            # The dump grants to the group roles, which live in the cluster, not in it.
            fresh_database(f"{LARGE}_roles")
            drop_database(f"{LARGE}_roles")
            _admin(f'CREATE DATABASE "{LARGE}"')
            _tool("pg_restore", "-j", "2", "-d", LARGE, str(DUMP))
        else:
            url = fresh_database(f"{LARGE}_building")
            engine = create_db_engine(url)
            build_demo(engine, size="large", seed=0)
            engine.dispose()
            _admin(f'ALTER DATABASE "{LARGE}_building" RENAME TO "{LARGE}"')
            CACHE.mkdir(parents=True, exist_ok=True)
            partial = DUMP.with_suffix(".partial")
            _tool("pg_dump", "-Fc", "-Z", "1", "-f", str(partial), LARGE)
            partial.rename(DUMP)
        _analyze()
    return create_db_engine(url_of(LARGE))


def _analyze() -> None:
    engine = create_engine(url_of(LARGE), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("VACUUM ANALYZE"))
    engine.dispose()
