"""a reason per audience language; what the approver decided about SMS over the cap;
the channels each sending process has a sender for

Revision ID: 0018
Revises: 0017

- outage.reasons: the reason in other languages than the utility's
  ({"en": "...", ...}); outage.reason stays the utility-language one and is
  what a language without its own reason falls back to. It is content like
  outage.texts: on PostgreSQL the outage guards (0012's editor/approval guard
  and 0013's owner guard) count it, so a submitted or approved outage's
  reasons change only as a draft again, and changing them makes the session
  user an editor who may not approve.
- outage.sms_decision: what the approver chose when the SMS did not fit
  `sms.max_segments` ({"transliterate": true} and/or the segments accepted
  per language, and the cap). It is not content (approving with it does not
  make the approver an editor), and on PostgreSQL it changes only in the
  update that approves a submitted outage, so nobody accepts a cost for an
  approver afterwards.

- engine_process.channels: the channels a process has a sender for (a bot
  channel without a token has none), so the monitor can say "no sender
  configured" instead of showing its messages as in flight for ever. NULL (a
  process of an older version): unknown, taken as every channel.

The outage columns are covered by 0012's table-wide grants on outage (operators
write it, everyone reads it); the engine's column grant does not include them.
engine_process is the engine's to write (0012) and everyone's to read.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

HERE = Path(__file__).parent

SMS_DECISION_RULE = """
    IF to_jsonb(NEW) -> 'sms_decision' IS DISTINCT FROM to_jsonb(OLD) -> 'sms_decision'
       AND NOT (OLD.status = 'submitted' AND NEW.status = 'approved') THEN
        PERFORM dispatch_refuse('what the approver decided about SMS length is set only by '
                                'approving');
    END IF;
    RETURN NEW;
END
$$"""


def _module(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"dispatch_migration_{name}", HERE / name)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _function(source: list[str], name: str) -> str:
    found = [f for f in source if f"CREATE FUNCTION {name}()" in f]
    assert len(found) == 1, name
    return found[0].replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def _old_guards() -> tuple[str, str]:
    roles = _module("0012_database_roles.py")
    owner = _module("0013_audit_sealing_and_owner_rules.py")
    return (
        _function(roles.FUNCTIONS, "dispatch_outage_guard"),
        _function(owner.FUNCTIONS, "dispatch_outage_owner_guard"),
    )


def _with_reasons(function: str) -> str:
    assert "'texts']" in function
    return function.replace("'texts']", "'texts', 'reasons']", 1)


def _with_decision_rule(function: str) -> str:
    head, found, _ = function.rpartition("\n    RETURN NEW;\nEND\n$$")
    assert found, "the owner guard ends differently than 0013 wrote it"
    return head + SMS_DECISION_RULE


def upgrade() -> None:
    with op.batch_alter_table("outage") as batch:
        batch.add_column(sa.Column("reasons", sa.JSON(), nullable=False, server_default="{}"))
        batch.add_column(sa.Column("sms_decision", sa.JSON(), nullable=True))
    with op.batch_alter_table("engine_process") as batch:
        batch.add_column(sa.Column("channels", sa.JSON(), nullable=True))
    if op.get_bind().dialect.name != "postgresql":
        return
    editor_guard, owner_guard = _old_guards()
    op.execute(_with_reasons(editor_guard))
    op.execute(_with_decision_rule(_with_reasons(owner_guard)))


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for function in _old_guards():
            op.execute(function)
    with op.batch_alter_table("engine_process") as batch:
        batch.drop_column("channels")
    with op.batch_alter_table("outage") as batch:
        batch.drop_column("sms_decision")
        batch.drop_column("reasons")
