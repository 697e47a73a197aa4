"""A real Kannel (bearerbox + smsbox) on free local ports, with a Python
fake-SMSC client that captures what would reach handsets, exactly.

Generated from shared/recipes/kannel (config, readiness, stop by PID). Skips
where Kannel is not installed; under CI (which installs it) that is a failure.
Fixtures: `kannel_server` (one per session), `kannel` (that one, with the
captured messages of earlier tests forgotten) and `kannel_factory` (a private
Kannel, e.g. with a `get-url` pointing at the engine's listener).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from tests.missing import unavailable

BEARERBOX = Path("/usr/sbin/bearerbox")
SMSBOX = Path("/usr/sbin/smsbox")
STOP_GRACE = 10.0
"""Seconds a box gets after SIGTERM before SIGKILL (as the recipe's stop.sh)."""

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
    """One MT message as the fake SMSC received it, parts joined.

    `kind` is how it travelled: "text" (GSM 7-bit), "ucs-2" or "data" (8-bit).
    """

    sender: str
    receiver: str
    text: str
    kind: str = "text"
    parts: int = 1


def _unquote(payload: bytes) -> bytes:
    """smsc_fake URL-encodes payloads with "+" for a 0x20 byte."""
    return urllib.parse.unquote_to_bytes(payload.replace(b"+", b"%20"))


def _concat_info(udh: bytes) -> tuple[int, int, int] | None:
    """(reference, total, sequence) from a concatenation header, if it has one."""
    i = 1
    while i + 1 < len(udh):
        iei, size = udh[i], udh[i + 1]
        data = udh[i + 2 : i + 2 + size]
        if iei == 0x00 and size == 3:
            return data[0], data[1], data[2]
        if iei == 0x08 and size == 4:
            return data[0] << 8 | data[1], data[2], data[3]
        i += 2 + size
    return None


def _guess_text(data: bytes) -> tuple[str, str]:
    """Parts of a long message come as "data" whatever their coding: 7-bit parts
    carry UTF-8, UCS-2 parts UTF-16BE, which (for Latin and Cyrillic) always has
    control bytes."""
    if any(b < 0x20 and b not in b"\t\n\r\f" for b in data):
        return data.decode("utf-16-be"), "ucs-2"
    return data.decode("utf-8"), "text"


class FakeSmsc:
    """The fake SMSC's client side (bearerbox listens, we connect).

    Line protocol of Kannel's smsc_fake: "<from> <to> text <utf-8 text>",
    "<from> <to> ucs-2 <urlenc UTF-16BE>", "<from> <to> data <urlenc>",
    "<from> <to> udh <urlenc udh> data <urlenc>" (each part of a long one).
    """

    def __init__(self, port: int) -> None:
        self.lines: list[bytes] = []
        """Every raw MT line, for a failing test's message."""
        self._messages: list[Handset] = []
        self._taken = 0
        self._parts: dict[tuple[str, str, int], dict[int, bytes]] = {}
        self._changed = threading.Condition()
        self._connect(port)

    def _connect(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.sock.settimeout(None)
        file = self.sock.makefile("rb")
        threading.Thread(target=self._read, args=(file,), daemon=True).start()

    def reconnect(self, port: int) -> None:
        """Connect to a restarted bearerbox, keeping what was received."""
        self.sock.close()
        self._connect(port)

    def _read(self, file: IO[bytes]) -> None:
        try:
            for raw in file:
                self._line(raw.rstrip(b"\r\n"))
        except (OSError, ValueError):
            return  # closed under us at teardown

    def _line(self, line: bytes) -> None:
        self.lines.append(line)
        fields = line.split(b" ", 3)
        if len(fields) < 4:
            return
        sender, receiver = fields[0].decode(), fields[1].decode()
        kind, payload = fields[2].decode(), fields[3]
        if kind == "text":
            self._add(Handset(sender, receiver, payload.decode("utf-8"), "text"))
        elif kind == "ucs-2":
            self._add(Handset(sender, receiver, _unquote(payload).decode("utf-16-be"), kind))
        elif kind == "udh":
            udh, _, data = payload.partition(b" ")
            self._part(sender, receiver, _unquote(udh), _unquote(data.partition(b" ")[2]))
        else:
            self._add(Handset(sender, receiver, _unquote(payload).decode("latin-1"), kind))

    def _part(self, sender: str, receiver: str, udh: bytes, data: bytes) -> None:
        info = _concat_info(udh)
        if info is None:
            self._add(Handset(sender, receiver, *_guess_text(data)))
            return
        ref, total, seq = info
        parts = self._parts.setdefault((sender, receiver, ref), {})
        parts[seq] = data
        if len(parts) == total:
            del self._parts[sender, receiver, ref]
            whole = b"".join(parts[n] for n in sorted(parts))
            self._add(Handset(sender, receiver, *_guess_text(whole), parts=total))

    def _add(self, handset: Handset) -> None:
        with self._changed:
            self._messages.append(handset)
            self._changed.notify_all()

    def received(self) -> list[Handset]:
        """Every whole message received so far."""
        with self._changed:
            return list(self._messages)

    def wait_for_mt(self, count: int, timeout: float = 10.0) -> list[Handset]:
        """The next `count` messages not yet returned by this method."""
        with self._changed:
            end = self._taken + count
            if not self._changed.wait_for(lambda: len(self._messages) >= end, timeout):
                got = self._messages[self._taken :]
                pytest.fail(f"the fake SMSC received {len(got)} of {count} messages: {got}")
            taken, self._taken = self._messages[self._taken : end], end
            return taken

    def forget(self) -> None:
        """Start afresh: what came so far is neither `received()` nor waited for."""
        with self._changed:
            self._messages.clear()
            self._taken = 0

    def inject_mo(self, sender: str, receiver: str, text: str) -> None:
        """An inbound SMS from a handset (UCS-2 unless plain ASCII on one line)."""
        if text.isascii() and "\n" not in text:
            line = f"{sender} {receiver} text {text}\n"
        else:
            line = f"{sender} {receiver} ucs2 {urllib.parse.quote(text.encode('utf-16-be'))}\n"
        self.sock.sendall(line.encode("ascii"))

    def inject_concatenated_mo(self, sender: str, receiver: str, parts: list[str]) -> None:
        """An inbound SMS in parts with a concatenation header (ASCII parts, 8-bit)."""
        for number, part in enumerate(parts, start=1):
            udh = bytes([5, 0, 3, 0x42, len(parts), number])
            payload = urllib.parse.quote(part.encode("ascii"))
            line = f"{sender} {receiver} udh {urllib.parse.quote(udh)} {payload}\n"
            self.sock.sendall(line.encode("ascii"))

    def close(self) -> None:
        self.sock.close()


@dataclass
class Kannel:
    sendsms_url: str
    username: str
    password: str
    smsc: FakeSmsc
    admin_url: str
    """bearerbox's admin HTTP root (password "adminpw", status password "statuspw")."""
    get_url: str
    """The sms-service get-url inbound SMS are forwarded to."""
    boxes: Boxes

    def received(self) -> list[Handset]:
        return self.smsc.received()

    def wait_for_mt(self, count: int, timeout: float = 10.0) -> list[Handset]:
        return self.smsc.wait_for_mt(count, timeout)

    def inject_mo(self, sender: str, receiver: str, text: str) -> None:
        self.smsc.inject_mo(sender, receiver, text)

    def admin(self, command: str, **params: str) -> str:
        """An admin command (e.g. "stop-smsc", smsc="fake"); Kannel answers 200 either way."""
        query = urllib.parse.urlencode({"password": "adminpw", **params})
        with urllib.request.urlopen(f"{self.admin_url}/{command}?{query}", timeout=5) as r:
            return str(r.read().decode())

    def status(self) -> str:
        return _status(self.admin_url)


def _status(admin_url: str) -> str:
    try:
        with urllib.request.urlopen(f"{admin_url}/status.txt?password=statuspw", timeout=1) as r:
            return str(r.read().decode())
    except OSError:
        return ""


def _wait(what: str, check: Callable[[], bool], timeout: float, run: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    logs = "\n".join(p.read_text(errors="replace")[-1500:] for p in run.glob("*.out"))
    raise RuntimeError(f"Kannel: timed out waiting for {what}\n{logs}")


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def _stop_pid(pid: int) -> None:
    """TERM, then KILL after `STOP_GRACE` (for a process we did not spawn ourselves)."""
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        while time.monotonic() < deadline:
            os.kill(pid, 0)
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _stop_respawned(conf: Path) -> None:
    """After a bearerbox crash smsbox re-spawns under a new PID (recipe gotcha 8):
    stop whatever still runs with this exact config file."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmd = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if str(conf).encode() in cmd:
            _stop_pid(int(entry.name))


def require_kannel() -> None:
    if BEARERBOX.exists() and SMSBOX.exists():
        return
    reason = "Kannel not installed (apt-get install kannel kannel-extras)"
    unavailable(reason)


Ports = dict[str, int]
"""Kannel's ports by name: admin, box (smsbox to bearerbox), smsc (fake SMSC), sendsms."""


class Boxes:
    """bearerbox and smsbox of one config, each stopped and started on demand
    (as an administrator restarts them), and our fake SMSC reconnected."""

    def __init__(self, run: Path, conf: Path, ports: Ports, stack: ExitStack) -> None:
        self.run, self.conf, self.ports, self._stack = run, conf, ports, stack
        self.admin_url = f"http://127.0.0.1:{ports['admin']}"
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self.smsc: FakeSmsc | None = None

    def _spawn(self, binary: Path) -> None:
        out: IO[bytes] = self._stack.enter_context((self.run / f"{binary.name}.out").open("ab"))
        command = [str(binary), "-v", "4", str(self.conf)]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=out)
        self._stack.callback(_stop, proc)
        self._procs[binary.name] = proc

    def start_bearerbox(self) -> None:
        """bearerbox, and the fake SMSC (re)connected to it."""
        self._spawn(BEARERBOX)
        _wait("bearerbox", lambda: "FAKE:" in _status(self.admin_url), 15, self.run)
        if self.smsc is None:
            self.smsc = FakeSmsc(self.ports["smsc"])
            self._stack.callback(self.smsc.close)
        else:
            self.smsc.reconnect(self.ports["smsc"])

    def start_smsbox(self) -> None:
        """smsbox, returning once it is connected and its sendsms port is open."""
        self._spawn(SMSBOX)
        _wait(
            "smsbox and the fake SMSC",
            lambda: all(s in _status(self.admin_url) for s in ("smsbox:", "(online")),
            15,
            self.run,
        )
        _wait("the sendsms port", lambda: _port_open(self.ports["sendsms"]), 10, self.run)

    def stop(self, name: str) -> None:
        """SIGTERM one box ("bearerbox" or "smsbox") and wait for it. A graceful
        bearerbox stop also tells smsbox to exit (recipe, error cases); an smsbox
        that missed the word (a loaded machine: bearerbox killed after its grace,
        smsbox waiting to re-spawn) is stopped as an administrator's
        `systemctl stop kannel` would, so the next start finds its ports free."""
        _stop(self._procs[name])
        if name == "bearerbox":
            smsbox = self._procs["smsbox"]
            try:
                smsbox.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                _stop(smsbox)
            _stop_respawned(self.conf)


@contextmanager
def running_kannel(
    run: Path,
    get_url: str = "",
    config: Callable[[Ports, Path, str], str] | None = None,
    username: str = "tester",
    password: str = "testpw",
) -> Iterator[Kannel]:
    """bearerbox, our fake SMSC client and smsbox in `run`, stopped by PID on exit.

    `get_url` is the sms-service get-url (Kannel escapes such as %p %a kept);
    by default inbound SMS go to a local port nobody listens on. `config`
    (ports, run, get_url) → kannel.conf replaces the default config; it must
    keep the admin and status passwords "adminpw" and "statuspw" and a fake SMSC.
    """
    require_kannel()
    ports = {k: free_port() for k in ("admin", "box", "smsc", "sendsms")}
    get_url = get_url or f"http://127.0.0.1:{free_port()}/mo?text=%a"
    conf = run / "kannel.conf"
    if config is None:
        conf.write_text(CONFIG.format(run=run, get_url=get_url, **ports))
    else:
        conf.write_text(config(ports, run, get_url))
    with ExitStack() as stack:
        stack.callback(_stop_respawned, conf)
        boxes = Boxes(run, conf, ports, stack)
        boxes.start_bearerbox()
        boxes.start_smsbox()
        assert boxes.smsc is not None
        sendsms = f"http://127.0.0.1:{ports['sendsms']}/cgi-bin/sendsms"
        yield Kannel(sendsms, username, password, boxes.smsc, boxes.admin_url, get_url, boxes)


def start_kannel(run: Path, get_url: str = "", **options: Any) -> Iterator[Kannel]:
    """Generator form of `running_kannel`, for `yield from` in a fixture."""
    with running_kannel(run, get_url, **options) as kannel:
        yield kannel


@pytest.fixture(scope="session")
def kannel_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kannel]:
    """One Kannel for the session: starting one takes about half a second."""
    yield from start_kannel(tmp_path_factory.mktemp("kannel"))


@pytest.fixture
def kannel(kannel_server: Kannel) -> Kannel:
    """The session's Kannel with messages captured by earlier tests forgotten."""
    kannel_server.smsc.forget()
    return kannel_server


KannelFactory = Callable[..., Kannel]


@pytest.fixture
def kannel_factory(tmp_path: Path) -> Iterator[KannelFactory]:
    """`start(get_url=...)` → a private Kannel, stopped after the test."""
    with ExitStack() as stack:
        count = 0

        def start(get_url: str = "", **options: Any) -> Kannel:
            nonlocal count
            count += 1
            run = tmp_path / f"kannel{count}"
            run.mkdir()
            return stack.enter_context(running_kannel(run, get_url, **options))

        yield start


FAKE_SMSC_GROUP = """
group = smsc
smsc = fake
smsc-id = fake
port = {smsc}
our-host = 127.0.0.1
connect-allow-ip = "127.0.0.1"
"""


def readme_config(
    *, listen_port: int, token: str, password: str, edit: Callable[[str], str] = str
) -> Callable[[Ports, Path, str], str]:
    """The README's kannel.conf fragment as an administrator fills it in (ports,
    passwords, token, folders) plus the fake SMSC, for `running_kannel(config=)`.
    Every value replaced must be in the fragment, so the two cannot drift apart;
    `edit` changes the filled-in text (a wrong setting, for doctor)."""
    from dispatch_tui.kannel import config_fragment

    def fill(ports: Ports, run: Path, _get_url: str) -> str:
        text = config_fragment()
        for old, new in {
            "admin-port = 13000": f"admin-port = {ports['admin']}",
            "13001": str(ports["box"]),
            "13013": str(ports["sendsms"]),
            "127.0.0.1:8787": f"127.0.0.1:{listen_port}",
            "CHANGE-ME-admin-password": "adminpw",
            "CHANGE-ME-status-password": "statuspw",
            "CHANGE-ME-sms.kannel_password": password,
            "CHANGE-ME-engine.report_token": token,
            "/var/spool/kannel": str(run),
            "/var/log/kannel": str(run),
        }.items():
            assert old in text, f"the README's kannel.conf no longer has {old!r}"
            text = text.replace(old, new)
        assert not re.search(r"=.*CHANGE-ME", text), text
        return edit(text) + FAKE_SMSC_GROUP.format(smsc=ports["smsc"])

    return fill
