"""`dispatch-tui import balances` in-process (issue 14): the snapshot's options, and
each refusal one message with exit status 1 and nothing changed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dispatch_tui.storage.db import create_db_engine
from tests.cli.test_cli import env, run
from tests.storage.csvdata import FILES, dump, write

__all__ = ["env"]

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)

BALANCES = "account;amount;currency;due_date\n100234;123,45;EUR;15.12.2026\n"


def test_import_balances_with_its_options(env: dict[str, str], tmp_path: Path, db_url: str) -> None:
    for kind, content in FILES.items():
        assert run(env, "import", kind, str(write(tmp_path, f"{kind}.csv", content))).exit_code == 0
    path = str(write(tmp_path, "balances.csv", BALANCES))
    done = run(env, "import", "balances", path, "--utility", "EG", "--as-of", "2026-12-01")
    assert done.exit_code == 0, done.output
    assert "balances: 1 rows — 1 new" in done.output
    before = dump(create_db_engine(db_url))
    for args, message in [
        (("--utility", "EG", "--as-of", "2026-12-01"), "is not newer than EG's newest snapshot"),
        (("--as-of", "2026-12-02"), "several utilities: name one with --utility (EG, EH, ZOE)"),
        (("--utility", "EG", "--as-of", "1.12.2026"), "--as-of: '1.12.2026 00:00' is not a date"),
    ]:
        refused = run(env, "import", "balances", path, *args)
        assert refused.exit_code == 1 and message in refused.output, refused.output
        assert "nothing was imported" in refused.output
    wrong = run(env, "import", "network", path, "--as-of", "2026-12-02")
    assert wrong.exit_code == 1
    assert "--as-of and --utility apply to `import balances` only" in wrong.output
    assert dump(create_db_engine(db_url)) == before
