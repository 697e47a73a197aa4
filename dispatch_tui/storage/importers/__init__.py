"""CSV importers: all-or-nothing, upsert by natural key.

Every importer validates the whole file first and raises `ImportFailed`
(listing line numbers and reasons) before anything is written; the writing
happens in one transaction, so a failure part-way leaves no trace either.
Only an admin may import once the database has operators, checked first in
that transaction.
Validation refuses whatever one backend would store and another reject
(NUL bytes, text longer than its column), so a file behaves the same on
SQLite and PostgreSQL. Files are streamed: metering points and subscribers
are staged on disk between validating and writing (staging.py), so a large
file does not need its size in memory many times over.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from dispatch_tui.storage.importers.balances import import_balances
from dispatch_tui.storage.importers.common import (
    ImportRefused,
    ImportSummary,
    Progress,
    check_importer,
)
from dispatch_tui.storage.importers.csvfile import ImportFailed, RowError
from dispatch_tui.storage.importers.metering_points import import_metering_points
from dispatch_tui.storage.importers.network import import_network
from dispatch_tui.storage.importers.subscribers import import_subscribers
from dispatch_tui.storage.importers.utilities import import_utilities

Importer = Callable[..., ImportSummary]

IMPORTERS: dict[str, Importer] = {
    "utilities": import_utilities,
    "network": import_network,
    "metering-points": import_metering_points,
    "subscribers": import_subscribers,
    "balances": import_balances,
}
SNAPSHOT_KINDS = ("balances",)
"""Kinds that take a snapshot's utility and moment (`--utility`, `--as-of`)."""


def import_file(
    engine: Engine,
    kind: str,
    path: Path,
    *,
    actor: str,
    progress: Progress | None = None,
    **options: str | None,
) -> ImportSummary:
    """Import `path` as `kind` for `actor` (`options`: a snapshot's `as_of` and
    `utility_code`). Whoever may not import hears so before a long file is read;
    each importer checks again inside its write transaction."""
    with engine.connect() as conn:
        check_importer(conn, actor)
    return IMPORTERS[kind](engine, path, actor=actor, progress=progress, **options)


__all__ = [
    "IMPORTERS",
    "SNAPSHOT_KINDS",
    "ImportFailed",
    "ImportRefused",
    "ImportSummary",
    "RowError",
    "import_file",
]
