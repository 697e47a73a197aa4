"""Tests for dispatch_tui.domain.roles: the full permission matrix and its messages."""

from __future__ import annotations

import pytest

from dispatch_tui.domain.roles import Action, PermissionDenied, Role, can, require

DISPATCHER_ACTIONS = {
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
EXPECTED: dict[Role, set[Action]] = {
    Role.VIEWER: {Action.VIEW},
    Role.DISPATCHER: DISPATCHER_ACTIONS,
    Role.SHIFT_LEAD: DISPATCHER_ACTIONS | {Action.APPROVE, Action.REJECT, Action.TAKE_OVER},
    Role.ADMIN: set(Action),
}


def test_strings_match_the_database() -> None:
    assert [r.value for r in Role] == ["dispatcher", "shift_lead", "admin", "viewer"]
    assert Action.IMPORT_DATA.value == "import_data"


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("action", list(Action))
def test_matrix(role: Role, action: Action) -> None:
    allowed = action in EXPECTED[role]
    assert can(role, action) is allowed
    assert can(role.value, action.value) is allowed
    if allowed:
        require(role, action)
    else:
        with pytest.raises(PermissionDenied):
            require(role, action)


def test_shift_lead_can_do_everything_a_dispatcher_can() -> None:
    for action in Action:
        if can(Role.DISPATCHER, action):
            assert can(Role.SHIFT_LEAD, action)


def test_only_admin_imports_and_manages_users() -> None:
    for action in (Action.IMPORT_DATA, Action.MANAGE_USERS):
        assert [r for r in Role if can(r, action)] == [Role.ADMIN]


def test_message_names_role_act_and_who_to_ask() -> None:
    with pytest.raises(PermissionDenied) as info:
        require("dispatcher", "approve")
    assert str(info.value) == "a dispatcher may not approve outages; ask a shift lead to do it"
    assert info.value.role is Role.DISPATCHER
    assert info.value.action is Action.APPROVE

    with pytest.raises(PermissionDenied, match=r"^a viewer may not cancel outages; ask a"):
        require(Role.VIEWER, Action.CANCEL)
    with pytest.raises(PermissionDenied, match="ask an admin"):
        require(Role.SHIFT_LEAD, Action.MANAGE_USERS)


def test_unknown_strings_are_errors_not_refusals() -> None:
    with pytest.raises(ValueError):
        can("superuser", "view")
    with pytest.raises(ValueError):
        can("admin", "launch")
