"""Operators and their roles.

Identity is the operating-system login (locally or over SSH); the role
lives in the database. Every change is audited, and the last admin cannot
be removed or demoted, so a database can never lock itself out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from dispatch_tui.domain.roles import Action, PermissionDenied, require
from dispatch_tui.storage import audit, db_roles
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.models import ROLES
from dispatch_tui.storage.tables import app_user as users
from dispatch_tui.storage.tables import role_change

USERNAME = re.compile(r"[a-z_][a-z0-9_.-]{0,63}", re.IGNORECASE)


class UserError(Exception):
    """A refused user change, explained."""


@dataclass(frozen=True)
class Operator:
    username: str
    role: str


def get_operator(conn: Connection, username: str) -> Operator | None:
    role = conn.execute(select(users.c.role).where(users.c.username == username)).scalar()
    return Operator(username, role) if role else None


def refusal_for(conn: Connection, actor: str, action: Action) -> str | None:
    """Why `actor` may not do `action` (a sentence for a person), or None if they may.

    Checked inside the caller's transaction, so a role changed a moment ago counts.
    """
    operator = get_operator(conn, actor)
    if operator is None:
        return f"'{actor}' is not a dispatch-tui user; ask an admin to add you"
    try:
        require(operator.role, action)
    except PermissionDenied as exc:
        return str(exc)
    return None


def list_operators(conn: Connection) -> list[Operator]:
    rows = conn.execute(select(users.c.username, users.c.role).order_by(users.c.username))
    return [Operator(name, role) for name, role in rows]


def _check(username: str, role: str | None) -> None:
    if not USERNAME.fullmatch(username):
        raise UserError(f"'{username}' is not a valid login name")
    if role is not None and role not in ROLES:
        raise UserError(f"unknown role '{role}' (one of: {', '.join(ROLES)})")


def admin_count(conn: Connection) -> int:
    """How many admins there are; none before `init --admin`."""
    return int(conn.execute(select(func.count()).where(users.c.role == "admin")).scalar_one())


def _require_user_manager(conn: Connection, actor: str) -> None:
    """The one role check (refusal_for), inside the change's transaction."""
    refusal = refusal_for(conn, actor, Action.MANAGE_USERS)
    if refusal is not None:
        raise UserError(f"only an admin can change users: {refusal}")


def bootstrap_admin(engine: Engine, username: str, *, actor: str) -> bool:
    """Make the first admin; refused once any admin exists (then use `users`)."""
    _check(username, "admin")
    with write_transaction(engine) as conn:
        if admin_count(conn):
            existing = get_operator(conn, username)
            if existing and existing.role == "admin":
                return False
            raise UserError(
                "an admin already exists: use `dispatch-tui users set-role` as that admin"
            )
        _upsert(conn, username, "admin", actor)
        return True


def _history(conn: Connection, username: str, role: str | None, actor: str, at: datetime) -> None:
    """Role history: the send path checks the role an approver held when approving."""
    conn.execute(
        insert(role_change).values(username=username, role=role, changed_at=at, changed_by=actor)
    )


def _database_role(conn: Connection, username: str, role: str | None) -> None:
    """On PostgreSQL, the operator's own LOGIN role and its one group role follow."""
    try:
        db_roles.sync_login_role(conn, username, role)
    except DBAPIError as exc:
        reason = str(exc.orig).splitlines()[0] if exc.orig else str(exc)
        raise UserError(
            f"the database role '{username}' could not be changed ({reason}): on PostgreSQL "
            f"an admin's own role needs CREATEROLE (users add gives it to admins)"
        ) from exc


def _upsert(conn: Connection, username: str, role: str, actor: str) -> None:
    old = get_operator(conn, username)
    now = datetime.now(UTC)
    if old is None:
        conn.execute(insert(users).values(username=username, role=role, created_at=now))
    else:
        conn.execute(update(users).where(users.c.username == username).values(role=role))
    _history(conn, username, role, actor, now)
    _database_role(conn, username, role)
    audit.append(
        conn,
        actor=actor,
        action="role_change",
        entity="user",
        entity_id=username,
        detail={"from": old.role if old else None, "to": role},
    )


def add_operator(engine: Engine, username: str, role: str, *, actor: str) -> None:
    _check(username, role)
    with write_transaction(engine) as conn:
        _require_user_manager(conn, actor)
        if get_operator(conn, username):
            raise UserError(f"'{username}' already exists: use set-role to change the role")
        _upsert(conn, username, role, actor)


def set_role(engine: Engine, username: str, role: str, *, actor: str) -> None:
    _check(username, role)
    with write_transaction(engine) as conn:
        _require_user_manager(conn, actor)
        old = get_operator(conn, username)
        if old is None:
            raise UserError(f"no user '{username}'")
        if old.role == role:
            return
        if old.role == "admin" and admin_count(conn) == 1:
            raise UserError(f"'{username}' is the last admin; make another admin first")
        _upsert(conn, username, role, actor)


def remove_operator(engine: Engine, username: str, *, actor: str) -> None:
    _check(username, None)
    with write_transaction(engine) as conn:
        _require_user_manager(conn, actor)
        old = get_operator(conn, username)
        if old is None:
            raise UserError(f"no user '{username}'")
        if old.role == "admin" and admin_count(conn) == 1:
            raise UserError(f"'{username}' is the last admin; make another admin first")
        conn.execute(delete(users).where(users.c.username == username))
        _history(conn, username, None, actor, datetime.now(UTC))
        _database_role(conn, username, None)
        audit.append(
            conn,
            actor=actor,
            action="role_change",
            entity="user",
            entity_id=username,
            detail={"from": old.role, "to": None},
        )
