"""subscriber privacy: proven contacts, contact scopes, proof failures and the
self-service lock; every notice-less message answers a stored inbound row

Revision ID: 0010
Revises: 0009

Existing rows:

- SMS contacts whose consent came from an SMS are not proven (before this
  version no SMS carried a proof); an SI one is scoped to the metering points
  its sign-up texts named, so it stops hearing of the customer's others.
- A reply is linked to the inbound SMS that names it (`reply_message_id`).
  Replies with no stored inbound row (bot replies: updates were not stored
  before this version) get a placeholder inbound row that says so, for their
  history; those that could still go out are cancelled first, because nothing
  shows what they answer: a row forged into the outbox before the upgrade
  must not become sendable by the backfill.

On SQLite the CHECK needs the message table rebuilt. Migrations run inside a
transaction, where foreign keys cannot be switched off, so dropping the old
table would cascade to its delivery events and trip the inbound rows that
name a reply: both are kept aside and put back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

CHANNELS = "channel IN ('sms', 'email', 'telegram', 'viber')"
NOTICE_OR_INBOUND = "notice_id IS NOT NULL OR inbound_id IS NOT NULL"
PLACEHOLDER = (
    "placeholder (migration 0010): the inbound message or bot update this reply "
    "answered was not stored"
)
NO_INBOUND = "cancelled by migration 0010: no stored inbound message or bot update"
STILL_SENDABLE = "('pending', 'retry_wait', 'sending', 'unknown')"


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def upgrade() -> None:
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=16), nullable=False, server_default="sms")
        )
        batch_op.alter_column(
            "sender",
            existing_type=sa.String(length=32),
            type_=sa.String(length=64),
            existing_nullable=False,
        )
        batch_op.create_check_constraint(op.f("ck_inbound_message_channel"), CHANNELS)

    with op.batch_alter_table("subscriber", schema=None) as batch_op:
        batch_op.add_column(sa.Column("self_service_locked_at", sa.DateTime(timezone=True)))
        batch_op.add_column(sa.Column("self_service_unlocked_at", sa.DateTime(timezone=True)))
    # A plain "1" (true on both backends) keeps SQLite at ALTER TABLE ADD COLUMN: an
    # SQL expression as default would rebuild `contact`, which messages reference.
    with op.batch_alter_table("contact", schema=None) as batch_op:
        batch_op.add_column(sa.Column("proven", sa.Boolean(), nullable=False, server_default="1"))
    op.execute(
        sa.text(
            "UPDATE contact SET proven = :no WHERE channel = 'sms' AND consent_source LIKE 'SMS %'"
        ).bindparams(no=False)
    )

    op.create_table(
        "contact_scope",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("mp_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_scope_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["mp_id"],
            ["metering_point.id"],
            name=op.f("fk_contact_scope_mp_id_metering_point"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "mp_id", name=op.f("pk_contact_scope")),
    )
    op.create_index("ix_contact_scope_mp", "contact_scope", ["mp_id", "contact_id"])
    op.execute(
        "INSERT INTO contact_scope (contact_id, mp_id) "
        "SELECT DISTINCT c.id, mp.id FROM contact c "
        "JOIN subscription s ON s.subscriber_id = c.subscriber_id "
        "JOIN metering_point mp ON mp.id = s.mp_id "
        "JOIN utility u ON u.id = mp.utility_id "
        "WHERE u.country = 'SI' AND c.channel = 'sms' AND NOT c.proven AND ("
        " c.consent_source LIKE '%' || mp.mp_id || '%'"
        " OR EXISTS (SELECT 1 FROM inbound_message im WHERE im.sender = c.address"
        "  AND im.command = 'subscribe' AND im.identifier = mp.mp_id))"
    )

    op.create_table(
        "proof_failure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("chat", sa.String(length=64), nullable=False),
        sa.Column("account", sa.String(length=32), nullable=False),
        sa.CheckConstraint(CHANNELS, name=op.f("ck_proof_failure_channel")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proof_failure")),
    )
    op.create_index("ix_proof_failure_account_at", "proof_failure", ["account", "at"])
    op.create_index("ix_proof_failure_chat_at", "proof_failure", ["channel", "chat", "at"])

    op.add_column("message", sa.Column("inbound_id", sa.Integer(), nullable=True))
    link = (
        "UPDATE message SET inbound_id = (SELECT MIN(im.id) FROM inbound_message im "
        "WHERE im.reply_message_id = message.id) WHERE notice_id IS NULL AND inbound_id IS NULL"
    )
    op.execute(link)
    unlinked = "notice_id IS NULL AND inbound_id IS NULL"
    op.execute(
        sa.text(
            "INSERT INTO delivery_event (message_id, at, status, detail) "
            f"SELECT id, CURRENT_TIMESTAMP, 'cancelled', :why FROM message WHERE {unlinked} "
            f"AND status IN {STILL_SENDABLE}"
        ).bindparams(why=NO_INBOUND)
    )
    op.execute(
        sa.text(
            "UPDATE message SET status = 'cancelled', last_error = :why, lease_owner = NULL, "
            f"lease_until = NULL WHERE {unlinked} AND status IN {STILL_SENDABLE}"
        ).bindparams(why=NO_INBOUND)
    )
    op.execute(
        sa.text(
            "INSERT INTO inbound_message (received_at, channel, sender, receiver, text, outcome, "
            "replied, reply_message_id) "
            "SELECT created_at, channel, substr(address, 1, 64), '', '', :outcome, :yes, id "
            f"FROM message WHERE {unlinked}"
        ).bindparams(outcome=PLACEHOLDER, yes=True)
    )
    op.execute(link)

    if not _sqlite():
        op.create_foreign_key(
            op.f("fk_message_inbound_id_inbound_message"),
            "message",
            "inbound_message",
            ["inbound_id"],
            ["id"],
        )
        op.create_check_constraint(
            op.f("ck_message_notice_or_inbound"), "message", NOTICE_OR_INBOUND
        )
        op.create_index("ix_message_inbound", "message", ["inbound_id"])
        return
    with (
        _rebuilding_message(),
        op.batch_alter_table("message", schema=None, recreate="always") as batch_op,
    ):
        batch_op.create_foreign_key(
            op.f("fk_message_inbound_id_inbound_message"),
            "inbound_message",
            ["inbound_id"],
            ["id"],
        )
        batch_op.create_check_constraint(op.f("ck_message_notice_or_inbound"), NOTICE_OR_INBOUND)
        batch_op.create_index("ix_message_inbound", ["inbound_id"])


@contextmanager
def _rebuilding_message() -> Iterator[None]:
    """SQLite: keep delivery events and reply links across a rebuild of `message`
    (its DROP cascades and checks foreign keys, which a transaction cannot turn off)."""
    op.execute("CREATE TEMP TABLE keep_delivery_event AS SELECT * FROM delivery_event")
    op.execute(
        "CREATE TEMP TABLE keep_reply_link AS SELECT id, reply_message_id "
        "FROM inbound_message WHERE reply_message_id IS NOT NULL"
    )
    op.execute("UPDATE inbound_message SET reply_message_id = NULL")
    yield
    op.execute(
        "INSERT INTO delivery_event SELECT * FROM keep_delivery_event "
        "WHERE id NOT IN (SELECT id FROM delivery_event)"
    )
    op.execute(
        "UPDATE inbound_message SET reply_message_id = (SELECT k.reply_message_id "
        "FROM keep_reply_link k WHERE k.id = inbound_message.id) "
        "WHERE id IN (SELECT id FROM keep_reply_link)"
    )
    op.execute("DROP TABLE keep_delivery_event")
    op.execute("DROP TABLE keep_reply_link")


def _drop_plain_column(table: str, column: str) -> None:
    """SQLite drops an unindexed column in place; a batch rebuild would cascade."""
    if _sqlite():
        op.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
    else:
        op.drop_column(table, column)


def downgrade() -> None:
    if _sqlite():
        with (
            _rebuilding_message(),
            op.batch_alter_table("message", schema=None, recreate="always") as batch_op,
        ):
            batch_op.drop_index("ix_message_inbound")
            batch_op.drop_constraint(op.f("ck_message_notice_or_inbound"), type_="check")
            batch_op.drop_constraint(
                op.f("fk_message_inbound_id_inbound_message"), type_="foreignkey"
            )
            batch_op.drop_column("inbound_id")
    else:
        op.drop_index("ix_message_inbound", table_name="message")
        op.drop_constraint(op.f("ck_message_notice_or_inbound"), "message", type_="check")
        op.drop_constraint(
            op.f("fk_message_inbound_id_inbound_message"), "message", type_="foreignkey"
        )
        op.drop_column("message", "inbound_id")
    op.drop_index("ix_proof_failure_chat_at", table_name="proof_failure")
    op.drop_index("ix_proof_failure_account_at", table_name="proof_failure")
    op.drop_table("proof_failure")
    op.drop_index("ix_contact_scope_mp", table_name="contact_scope")
    op.drop_table("contact_scope")
    _drop_plain_column("contact", "proven")
    _drop_plain_column("subscriber", "self_service_unlocked_at")
    _drop_plain_column("subscriber", "self_service_locked_at")
    # The old schema knows only SMS; bot updates were never stored there.
    op.execute("DELETE FROM inbound_message WHERE channel <> 'sms'")
    with op.batch_alter_table("inbound_message", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_inbound_message_channel"), type_="check")
        batch_op.alter_column(
            "sender",
            existing_type=sa.String(length=64),
            type_=sa.String(length=32),
            existing_nullable=False,
            postgresql_using="substr(sender, 1, 32)",
        )
        batch_op.drop_column("channel")
