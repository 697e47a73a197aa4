"""Who is at the keyboard: resolved once at start from the OS login."""

from __future__ import annotations

import getpass
from dataclasses import dataclass

from sqlalchemy import Engine

from dispatch_tui.domain.roles import Action, can
from dispatch_tui.storage.users import get_operator


@dataclass(frozen=True)
class Identity:
    """The operator and what they may do; `role` is None for an unknown login."""

    login: str
    role: str | None

    def may(self, action: Action) -> bool:
        return self.role is not None and can(self.role, action)


def resolve(engine: Engine, login: str | None = None) -> Identity:
    """Blocking: call from a worker."""
    name = login or getpass.getuser()
    with engine.connect() as conn:
        operator = get_operator(conn, name)
    return Identity(name, operator.role if operator else None)
