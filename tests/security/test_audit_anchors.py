"""The audit log's head is anchored outside the database (issue 10, attack 6): at every
approval and on the engine's tick, to an append-only file and to syslog (a real datagram
socket bound in the test's directory); refused approvals leave audit rows; the key lives
in its own file that only its owner may read. Both backends."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import socket
import stat
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from dispatch_tui.config import load_settings
from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.selection import Selection
from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.storage import audit, audit_anchor, outage_lifecycle, users
from dispatch_tui.storage.audit_anchor import AnchorTargets
from dispatch_tui.storage.outages import OutageError
from dispatch_tui.storage.tables import audit_log, node, utility
from tests.engine.conftest import FAST, Recording
from tests.security.audit_attacker import audit_files, decisions
from tests.storage.csvdata import load_all

__all__ = ["audit_files"]

START = datetime.now(UTC).replace(microsecond=0) + timedelta(days=10)


@pytest.fixture
def world(engine: Engine, tmp_path: Path, audit_files: AnchorTargets) -> dict[str, int]:
    load_all(engine, tmp_path)
    users.bootstrap_admin(engine, "root", actor="root")
    for login, role in (("ana", "dispatcher"), ("bohdan", "shift_lead"), ("olena", "shift_lead")):
        users.add_operator(engine, login, role, actor="root")
    with engine.connect() as conn:
        ids = dict(conn.execute(select(node.c.code, node.c.id)).all())
        ids["EG"] = conn.execute(select(utility.c.id).where(utility.c.code == "EG")).scalar_one()
    return ids


def submitted(engine: Engine, world: dict[str, int], author: str) -> int:
    draft = OutageDraft(
        utility_id=world["EG"],
        title="Zamenjava transformatorja",
        reason="vzdrževalna dela",
        starts_at=START,
        ends_at=START + timedelta(hours=4),
        selection=Selection(nodes=frozenset({world["EG-R1"]})),
    )
    oid = outage_lifecycle.create_draft(engine, draft, actor=author)
    outage_lifecycle.submit(engine, oid, actor=author)
    return oid


@pytest.fixture
def syslog(tmp_path: Path, audit_files: AnchorTargets) -> Iterator[socket.socket]:
    """A datagram socket standing in for /dev/log, and anchors sent to it."""
    path = tmp_path / "log"
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.bind(str(path))
    server.settimeout(5)
    audit_anchor.use_targets(AnchorTargets(audit_files.file, str(path)))
    yield server
    server.close()


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def head(engine: Engine) -> tuple[int, str]:
    with engine.connect() as conn:
        top = audit.head(conn)
    assert top is not None
    return top


def test_an_approval_is_anchored_to_the_file_and_to_syslog(
    engine: Engine, world: dict[str, int], audit_files: AnchorTargets, syslog: socket.socket
) -> None:
    oid = submitted(engine, world, "ana")
    outage_lifecycle.approve(engine, oid, actor="bohdan")
    row, digest = head(engine)
    written = lines(audit_files.file)
    assert len(written) == 1
    line = written[0]
    assert (line["row"], line["hash"], line["reason"]) == (row, digest, "approval")
    assert line["database"] == audit_anchor.database_label(engine.url)
    assert line["key"] == audit.key_id(audit.current_key())
    assert stat.S_IMODE(audit_files.file.stat().st_mode) == 0o600
    message = syslog.recv(4096).decode().rstrip("\x00")
    assert message.startswith("<")
    assert "dispatch-tui: " + audit_anchor.PREFIX in message
    assert json.loads(message[message.index("{") :]) == line
    with engine.connect() as conn:
        result = audit.verify(conn, anchors=audit_anchor.anchors_of(engine))
    assert result.ok and result.anchors == 1


def test_syslog_lines_serve_as_anchors_too(
    engine: Engine, tmp_path: Path, syslog: socket.socket
) -> None:
    decisions(engine, 3)
    audit_anchor.anchor(engine, reason="approval")
    journal = tmp_path / "journal.txt"
    journal.write_text("Mar  1 10:00:00 host dispatch-tui: " + syslog.recv(4096).decode() + "\n")
    anchors = audit_anchor.read_anchors(journal, audit_anchor.database_label(engine.url))
    assert [(a.row, a.reason) for a in anchors] == [(3, "approval")]


def test_anchors_are_appended_never_rewritten(engine: Engine, audit_files: AnchorTargets) -> None:
    audit_files.file.parent.mkdir(parents=True)
    audit_files.file.write_text('{"database":"sqlite:////elsewhere.sqlite","row":1}\n')
    os.chmod(audit_files.file, 0o600)
    assert audit_anchor.anchor(engine, reason="approval") is None, "an empty log: no anchor"
    decisions(engine, 2)
    audit_anchor.anchor(engine, reason="approval")
    decisions(engine, 1)
    audit_anchor.anchor(engine, reason="periodic")
    written = lines(audit_files.file)
    assert written[0] == {"database": "sqlite:////elsewhere.sqlite", "row": 1}
    assert [(line["row"], line["reason"]) for line in written[1:]] == [
        (2, "approval"),
        (3, "periodic"),
    ]
    assert [a.row for a in audit_anchor.anchors_of(engine)] == [2, 3]


def test_a_missing_syslog_socket_is_said_once_and_the_file_still_written(
    engine: Engine, tmp_path: Path, audit_files: AnchorTargets, caplog: pytest.LogCaptureFixture
) -> None:
    absent = str(tmp_path / "no-such-log")
    audit_anchor.use_targets(AnchorTargets(audit_files.file, absent))
    decisions(engine, 1)
    with caplog.at_level(logging.WARNING, logger="dispatch_tui.storage.audit_anchor"):
        for _ in range(3):
            assert audit_anchor.anchor(engine, reason="approval") is not None
    said = [r.getMessage() for r in caplog.records if absent in r.getMessage()]
    assert said == [f"syslog socket {absent} absent: audit anchors go to the file only"]
    assert len(lines(audit_files.file)) == 3


async def test_the_engine_anchors_on_its_tick(
    engine: Engine, tmp_path: Path, audit_files: AnchorTargets
) -> None:
    decisions(engine, 2)
    env = {
        "DISPATCH_TUI_AUDIT_ANCHOR_FILE": str(tmp_path / "engine-anchors.log"),
        "DISPATCH_TUI_AUDIT_SYSLOG_SOCKET": "",
    }
    settings = load_settings(env=env, user_file=Path("/nonexistent/config.toml"))
    delivery = DeliveryEngine(
        engine,
        settings,
        senders={"sms": Recording("sms")},
        tuning=FAST,
        sync_seconds=0.2,
        anchor_seconds=0.2,
    )
    await delivery.start()
    try:
        path = tmp_path / "engine-anchors.log"
        for _ in range(100):
            if path.exists() and len(lines(path)) >= 3:
                break
            await asyncio.sleep(0.05)
    finally:
        await delivery.stop()
    written = lines(path)
    assert len(written) >= 3
    assert {(line["row"], line["reason"]) for line in written} == {(2, "periodic")}
    assert not audit_files.file.exists(), "the engine's settings say where its anchors go"


def test_a_refused_self_approval_leaves_an_audit_row(engine: Engine, world: dict[str, int]) -> None:
    oid = submitted(engine, world, "bohdan")
    with pytest.raises(OutageError):
        outage_lifecycle.approve(engine, oid, actor="bohdan")
    oid2 = submitted(engine, world, "olena")
    with pytest.raises(OutageError):
        outage_lifecycle.approve(engine, oid2, actor="ana")
    with engine.connect() as conn:
        refused = conn.execute(
            select(audit_log.c.actor, audit_log.c.entity_id, audit_log.c.detail)
            .where(audit_log.c.action == "approve_refused")
            .order_by(audit_log.c.id)
        ).all()
        assert audit.verify(conn).ok
    assert [(r.actor, r.entity_id) for r in refused] == [("bohdan", str(oid)), ("ana", str(oid2))]
    assert all(r.detail["reason"] for r in refused)


def test_the_key_is_made_for_its_owner_only(tmp_path: Path, audit_files: AnchorTargets) -> None:
    key = audit.current_key()
    path = audit.key_file()
    assert path == tmp_path / "config" / "audit.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert bytes.fromhex(path.read_text().strip()) == key and len(key) == 32
    assert audit.init_key(path) is None, "init keeps an existing key"
    fresh = tmp_path / "other" / "audit.key"
    assert audit.init_key(fresh) == f"audit key written to {fresh} (mode 0600; back it up)"


@pytest.mark.parametrize("mode", [0o644, 0o606, 0o620])
def test_a_key_others_may_read_or_change_is_refused(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "audit.key"
    path.write_text("ab" * 32 + "\n")
    os.chmod(path, mode)
    with pytest.raises(audit.AuditKeyError, match=rf"mode {mode:04o}.*chmod 600"):
        audit.load_key(path)


def test_a_damaged_key_is_refused_and_a_verifier_never_makes_one(tmp_path: Path) -> None:
    path = tmp_path / "audit.key"
    path.write_text("not a key\n")
    os.chmod(path, 0o600)
    with pytest.raises(audit.AuditKeyError, match="not an audit key"):
        audit.load_key(path)
    missing = tmp_path / "missing" / "audit.key"
    with pytest.raises(audit.AuditKeyError, match=r"no audit key here.*dispatch-tui init"):
        audit.load_key(missing, create=False)
    assert not missing.exists()
