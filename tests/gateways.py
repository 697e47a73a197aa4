"""A real Kannel (bearerbox + smsbox) on free local ports, with a Python
fake-SMSC client that captures what would reach handsets, exactly.

Generated from shared/recipes/kannel (config, readiness, stop by PID). Skips
where Kannel is not installed; under CI (which installs it) that is a failure.
"""

from __future__ import annotations

import os
import queue
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")

CONFIG = """
group = core
admin-port = {admin}
admin-password = adminpw
status-password = statuspw
admin-interface = 127.0.0.1
admin-allow-ip = "127.0.0.1"
smsbox-port = {box}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "{run}/bearerbox.log"
log-level = 1
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = fake
port = {smsc}
our-host = 127.0.0.1
connect-allow-ip = "127.0.0.1"

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {box}
sendsms-port = {sendsms}
sendsms-interface = 127.0.0.1
log-file = "{run}/smsbox.log"
log-level = 1
mo-recode = true

group = sendsms-user
username = tester
password = testpw
concatenation = true
max-messages = 10

group = sms-service
keyword = default
max-messages = 0
accept-x-kannel-headers = true
get-url = "{get_url}"
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Handset:
    """One MT message as the fake SMSC received it."""

    sender: str
    receiver: str
    text: str


class FakeSmsc:
    """The fake SMSC's client side (bearerbox listens, we connect)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.settimeout(None)
        self.mt: queue.Queue[Handset] = queue.Queue()
        self._file = self.sock.makefile("rb")
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for raw in self._file:
            parts = raw.decode("latin-1").rstrip("\r\n").split(" ", 3)
            if len(parts) < 4:
                continue
            sender, receiver, kind, rest = parts
            if kind == "ucs-2":
                text = urllib.parse.unquote_to_bytes(rest.replace("+", "%20")).decode("utf-16-be")
            else:
                text = rest
            self.mt.put(Handset(sender, receiver, text))

    def inject_mo(self, sender: str, receiver: str, text: str) -> None:
        if text.isascii():
            line = f"{sender} {receiver} text {text}\n"
        else:
            line = f"{sender} {receiver} ucs2 {urllib.parse.quote(text.encode('utf-16-be'))}\n"
        self.sock.sendall(line.encode("ascii"))

    def close(self) -> None:
        self.sock.close()


@dataclass
class Kannel:
    sendsms_url: str
    username: str
    password: str
    smsc: FakeSmsc

    def wait_for_mt(self, count: int, timeout: float = 10.0) -> list[Handset]:
        got: list[Handset] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"the fake SMSC received {len(got)} of {count} messages: {got}")
            try:
                got.append(self.smsc.mt.get(timeout=left))
            except queue.Empty:
                continue
        return got


def _status(admin: int) -> str:
    url = f"http://127.0.0.1:{admin}/status.txt?password=statuspw"
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return str(response.read().decode())
    except OSError:
        return ""


def _wait(what: str, check: object, timeout: float, run: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():  # type: ignore[operator]
            return
        time.sleep(0.1)
    logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in run.glob("*.log"))
    raise RuntimeError(f"Kannel: timed out waiting for {what}\n{logs}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def start_kannel(run: Path, get_url: str = "") -> Iterator[Kannel]:
    """Start Kannel in `run`; yields it, stops everything by PID afterwards."""
    if not (BEARERBOX.exists() and SMSBOX.exists()):
        reason = "Kannel not installed (apt-get install kannel kannel-extras)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    ports = {k: free_port() for k in ("admin", "box", "smsc", "sendsms")}
    conf = run / "kannel.conf"
    conf.write_text(
        CONFIG.format(
            run=run, get_url=get_url or f"http://127.0.0.1:{free_port()}/mo?text=%a", **ports
        )
    )
    procs: list[subprocess.Popen[bytes]] = []
    smsc: FakeSmsc | None = None
    try:
        procs.append(
            subprocess.Popen(
                [str(BEARERBOX), "-v", "4", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=(run / "bearerbox.out").open("wb"),
            )
        )
        _wait("bearerbox", lambda: "FAKE:" in _status(ports["admin"]), 15, run)
        smsc = FakeSmsc(ports["smsc"])
        procs.append(
            subprocess.Popen(
                [str(SMSBOX), "-v", "4", str(conf)],
                stdout=subprocess.DEVNULL,
                stderr=(run / "smsbox.out").open("wb"),
            )
        )
        _wait(
            "smsbox and the fake SMSC",
            lambda: all(s in _status(ports["admin"]) for s in ("smsbox:", "(online")),
            15,
            run,
        )

        def sendsms_open() -> bool:
            try:
                socket.create_connection(("127.0.0.1", ports["sendsms"]), 0.5).close()
                return True
            except OSError:
                return False

        _wait("the sendsms port", sendsms_open, 10, run)
        yield Kannel(
            f"http://127.0.0.1:{ports['sendsms']}/cgi-bin/sendsms", "tester", "testpw", smsc
        )
    finally:
        if smsc is not None:
            smsc.close()
        for proc in reversed(procs):
            _stop(proc)
        _stop_respawned(conf)


def _stop_respawned(conf: Path) -> None:
    """After a bearerbox crash smsbox re-spawns under a new PID (recipe gotcha 8)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(conf).encode() in cmd:
            os.kill(int(entry.name), signal.SIGKILL)
