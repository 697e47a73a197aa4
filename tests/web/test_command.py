"""`dispatch-tui web` as a process: it serves, logs one line per request without the query
string, refuses bad settings with a message, and stops cleanly on SIGTERM."""

from __future__ import annotations

import subprocess
import sys
import urllib.parse
import urllib.request
from pathlib import Path

from tests.web.served import approved_site, serve


def test_serves_logs_paths_only_and_stops_on_sigterm(sqlite_template: Path, tmp_path: Path) -> None:
    database = approved_site(sqlite_template, tmp_path)
    with serve(database, tmp_path) as served:
        query = urllib.parse.urlencode({"settlement": "Kranj", "street": "Prešernova"})
        with urllib.request.urlopen(f"{served.url}/EG/search?{query}", timeout=10) as answer:
            assert answer.status == 200
            assert "Prešernova ulica" in answer.read().decode()
        assert served.stop() == 0
    log = served.log.read_text()
    assert '"GET /EG/search" 200' in log
    assert "settlement" not in log and "Pre" + "šernova" not in log and "Kranj" not in log
    assert "public web stopping" in log


def test_behind_a_proxy_the_log_names_the_forwarded_client(
    sqlite_template: Path, tmp_path: Path
) -> None:
    database = approved_site(sqlite_template, tmp_path)
    with serve(database, tmp_path, DISPATCH_TUI_WEB_TRUST_FORWARDED_FOR="true") as served:
        forwarded = {"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}
        request = urllib.request.Request(f"{served.url}/EG/", headers=forwarded)
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200
        assert served.stop() == 0
    assert '203.0.113.9 "GET /EG/" 200' in served.log.read_text()


def test_a_bad_setting_is_refused_with_its_name(tmp_path: Path) -> None:
    command = [str(Path(sys.executable).with_name("dispatch-tui")), "web"]
    env = {
        "PATH": "/usr/bin:/bin",
        "XDG_CONFIG_HOME": str(tmp_path),
        "XDG_DATA_HOME": str(tmp_path),
        "DISPATCH_TUI_WEB_REFRESH_SECONDS": "1",
    }
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "web.refresh_seconds" in result.stderr and "from 5 to 1800" in result.stderr
