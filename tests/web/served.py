"""`dispatch-tui web` as a real process on a real SQLite database with an approved outage,
for the command's own test and the browser's."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from dispatch_tui.storage.db import create_db_engine
from tests.factories import approved_outage

START_SECONDS = 30.0


@dataclass
class Served:
    url: str
    process: subprocess.Popen[str]
    log: Path

    def stop(self) -> int:
        """SIGTERM, as systemd stops it; its exit status."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=15)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def approved_site(template: Path, tmp: Path) -> Path:
    """A copy of the migrated template with the sample data and an approved outage."""
    path = tmp / "site.sqlite"
    shutil.copyfile(template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    approved_outage(engine, tmp)
    engine.dispose()
    return path


@contextmanager
def serve(database: Path, tmp: Path, **settings: str) -> Iterator[Served]:
    """The command on `database`; `settings` are more DISPATCH_TUI_* variables."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISPATCH_TUI_")}
    env.update(
        XDG_CONFIG_HOME=str(tmp / "config"),
        XDG_DATA_HOME=str(tmp / "data"),
        DISPATCH_TUI_WEB_LISTEN_PORT=str(port),
        DISPATCH_TUI_WEB_PUBLIC_URL="https://outages.example.net",
        **settings,
    )
    log = tmp / "web.log"
    command = [str(Path(sys.executable).with_name("dispatch-tui")), "web", "--database"]
    with log.open("w") as out:
        process = subprocess.Popen(
            [*command, str(database)], env=env, stdout=out, stderr=subprocess.STDOUT, text=True
        )
    served = Served(f"http://127.0.0.1:{port}", process, log)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            try:
                with urllib.request.urlopen(served.url + "/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"web did not start:\n{log.read_text()}") from None
                time.sleep(0.1)
        yield served
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
