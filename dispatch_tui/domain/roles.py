"""Who may do what.

Roles live in the database (design: "Users, roles, audit"); this module is the
one place that says what each role may do, so the screens, the command line and
the engine refuse the same things with the same words.

Permissions are about the *kind* of act. Four-eyes (nobody approves their own
outage) depends on the outage, not on the role, and lives in
:mod:`dispatch_tui.domain.outage`.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """The roles stored in ``user.role`` (same strings as the database)."""

    DISPATCHER = "dispatcher"
    SHIFT_LEAD = "shift_lead"
    ADMIN = "admin"
    VIEWER = "viewer"


class Action(StrEnum):
    """Acts that need a permission; the strings are also used in the audit log.

    Withdrawing a submitted outage back to draft counts as ``submit``: whoever
    may put an outage up for approval may take it back.
    """

    DRAFT = "draft"
    EDIT_DRAFT = "edit_draft"
    DELETE_DRAFT = "delete_draft"
    SUBMIT = "submit"
    APPROVE = "approve"
    REJECT = "reject"
    TAKE_OVER = "take_over"
    CANCEL = "cancel"
    AMEND = "amend"
    RETRY = "retry"
    PAUSE = "pause"
    CALL_PRIORITY = "call_priority"
    IMPORT_DATA = "import_data"
    MANAGE_USERS = "manage_users"
    VIEW = "view"


_DISPATCHER: frozenset[Action] = frozenset(
    {
        Action.VIEW,
        Action.DRAFT,
        Action.EDIT_DRAFT,
        Action.DELETE_DRAFT,
        Action.SUBMIT,
        Action.CANCEL,
        Action.AMEND,
        Action.RETRY,
        Action.PAUSE,
        Action.CALL_PRIORITY,
    }
)

PERMISSIONS: dict[Role, frozenset[Action]] = {
    Role.VIEWER: frozenset({Action.VIEW}),
    Role.DISPATCHER: _DISPATCHER,
    Role.SHIFT_LEAD: _DISPATCHER | {Action.APPROVE, Action.REJECT, Action.TAKE_OVER},
    Role.ADMIN: frozenset(Action),
}

# Phrases for messages: "a viewer may not approve outages".
_ROLE_NAMES: dict[Role, str] = {
    Role.DISPATCHER: "a dispatcher",
    Role.SHIFT_LEAD: "a shift lead",
    Role.ADMIN: "an admin",
    Role.VIEWER: "a viewer",
}

_ACTION_PHRASES: dict[Action, str] = {
    Action.DRAFT: "draft outages",
    Action.EDIT_DRAFT: "edit drafts",
    Action.DELETE_DRAFT: "delete drafts",
    Action.SUBMIT: "submit outages for approval",
    Action.APPROVE: "approve outages",
    Action.REJECT: "reject outages",
    Action.TAKE_OVER: "edit or withdraw someone else's outage",
    Action.CANCEL: "cancel outages",
    Action.AMEND: "amend outages",
    Action.RETRY: "retry failed messages",
    Action.PAUSE: "pause or resume channels",
    Action.CALL_PRIORITY: "record calls to priority customers",
    Action.IMPORT_DATA: "import data",
    Action.MANAGE_USERS: "manage users and roles",
    Action.VIEW: "view outages",
}

# Who to ask, so the message says what to do next rather than only "no".
_WHO_CAN: dict[Action, str] = {
    Action.APPROVE: "a shift lead",
    Action.REJECT: "a shift lead",
    Action.TAKE_OVER: "a shift lead or the author",
    Action.IMPORT_DATA: "an admin",
    Action.MANAGE_USERS: "an admin",
}


class PermissionDenied(Exception):
    """The user's role does not allow the act; ``str()`` is a sentence for a person."""

    def __init__(self, role: Role, action: Action) -> None:
        self.role = role
        self.action = action
        who = _WHO_CAN.get(action, "a dispatcher or shift lead")
        super().__init__(
            f"{_ROLE_NAMES[role]} may not {_ACTION_PHRASES[action]}; ask {who} to do it"
        )


def can(role: Role | str, action: Action | str) -> bool:
    """Whether ``role`` may perform ``action``; accepts the database strings.

    Raises ``ValueError`` for a string that is not a known role or action, so
    a typo never silently turns into "not allowed".
    """
    return Action(action) in PERMISSIONS[Role(role)]


def require(role: Role | str, action: Action | str) -> None:
    """Raise :class:`PermissionDenied` unless ``role`` may perform ``action``."""
    r, a = Role(role), Action(action)
    if a not in PERMISSIONS[r]:
        raise PermissionDenied(r, a)
