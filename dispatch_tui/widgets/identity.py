"""Who is at the keyboard: resolved once at start from the OS user of the real
uid, never from LOGNAME/USER, which anyone can set to a shift lead's name."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from dispatch_tui.domain.roles import Action, can
from dispatch_tui.os_user import current_login
from dispatch_tui.storage.users import get_operator


@dataclass(frozen=True)
class Identity:
    """The operator and what they may do; `role` is None for an unknown login."""

    login: str
    role: str | None

    def may(self, action: Action) -> bool:
        return self.role is not None and can(self.role, action)


def resolve(engine: Engine, login: str | None = None) -> Identity:
    """Blocking: call from a worker. `login` is for tests that drive the app in
    process; the command line never passes one."""
    name = login or current_login()
    with engine.connect() as conn:
        operator = get_operator(conn, name)
    return Identity(name, operator.role if operator else None)
