"""The installed command `dispatch-tui engine --log-format json` through a Kannel
outage: Kannel refuses connections while messages wait, then comes up. Its
log is JSON lines only, says unhealthy and healthy again with counts, and has
no scheduler tick among the lines of several sync rounds."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from dispatch_tui.storage import migrate
from dispatch_tui.storage.db import create_db_engine
from tests.engine.factory import make_outbox, message_states
from tests.engine.fake_gateway import FakeKannel
from tests.gateways import free_port

TOKEN = "engine-log-test-token_0123456789abcdefXYZ01"


class Log:
    """The engine's stderr, read as it comes."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.lines: list[str] = []
        assert process.stderr is not None
        self._stream = process.stderr
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self._stream:
            self.lines.append(line.rstrip("\n"))

    def events(self) -> list[str]:
        found = []
        for line in list(self.lines):
            try:
                found.append(str(json.loads(line).get("event", "")))
            except ValueError:
                continue
        return found

    def wait_for(self, event: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while event not in self.events():
            if time.monotonic() > deadline:
                pytest.fail(f"no {event} line in:\n" + "\n".join(self.lines))
            time.sleep(0.05)

    def close(self) -> None:
        self._reader.join(10)


def test_the_engine_command_logs_an_outage_as_json_without_ticks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'engine.sqlite'}"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    db = create_db_engine(url)
    migrate.init_database(db)
    notice_id = make_outbox(db, 5)
    port = free_port()
    env = {
        **os.environ,
        "DISPATCH_TUI_DATABASE_URL": url,
        "DISPATCH_TUI_ENGINE_REPORT_TOKEN": TOKEN,
        "DISPATCH_TUI_ENGINE_LISTEN_PORT": "0",
        "DISPATCH_TUI_SMS_GATEWAY": "kannel",
        "DISPATCH_TUI_SMS_KANNEL_URL": f"http://127.0.0.1:{port}/cgi-bin/sendsms",
        "DISPATCH_TUI_DELIVERY_RETRY_BASE_SECONDS": "0.1",
        "DISPATCH_TUI_DELIVERY_RETRY_CAP_SECONDS": "1",
    }
    command = [sys.executable, "-c", "from dispatch_tui.cli import main; main()"]
    engine = subprocess.Popen(
        [*command, "engine", "--log-format", "json"], env=env, stderr=subprocess.PIPE, text=True
    )
    log = Log(engine)
    gateway: FakeKannel | None = None
    try:
        log.wait_for("gateway_unhealthy")
        time.sleep(2.5)  # a sync round or two (every 2 s) while Kannel is down
        gateway = FakeKannel(port=port).start()
        log.wait_for("gateway_healthy")
        deadline = time.monotonic() + 20
        while message_states(db, notice_id) != {"sent": 5} and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        engine.send_signal(signal.SIGTERM)
        engine.wait(30)
        log.close()
        if gateway is not None:
            gateway.stop()
        db.dispose()
    assert engine.returncode == 0, "\n".join(log.lines)
    lines: list[dict[str, Any]] = [json.loads(line) for line in log.lines]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(line) for line in lines)
    assert not [line for line in lines if line["logger"].startswith("apscheduler")]
    assert not [line for line in lines if "Running job" in line["message"]]
    [up] = [line for line in lines if line.get("event") == "gateway_healthy"]
    assert up["failures"] >= 3 and "healthy again after" in up["message"]
    events = [line.get("event") for line in lines if line.get("event")]
    assert "engine_started" in events and events[-1] == "engine_stopped"
    assert TOKEN not in "\n".join(log.lines)
    assert message_states(create_db_engine(url), notice_id) == {"sent": 5}
    assert len(lines) < 15, "\n".join(log.lines)
