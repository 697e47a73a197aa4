"""account services: consent per service, balance snapshots, bill checks

Revision ID: 0026
Revises: 0025

The seed utilities run more than outage notices over the same channels: bill
checks, payment reminders and meter-reading reminders. Each is consented to
on its own (`contact_service`; `contact.consent` keeps meaning outage notices,
so existing consent is untouched). Balances arrive as snapshots from billing,
kept with their history; every bill check is recorded.

On PostgreSQL everyone reads them; admins import balances; operators, admins
and the engine record consent to a service, and an operator (like for outage
notices) only ever records an opt-out; the public web's unsubscribe link opts
out of every service; the engine records bill checks.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

SERVICE_GUARD = """
CREATE FUNCTION dispatch_contact_service_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF dispatch_trusted(TG_RELID) OR dispatch_is_engine()
       OR pg_has_role(session_user, 'dispatch_admin', 'MEMBER') THEN
        RETURN NEW;
    END IF;
    IF NEW.consent <> 'opted_out' THEN
        PERFORM dispatch_refuse('an operator only records an opt-out');
    END IF;
    RETURN NEW;
END
$$"""

GRANTS = [
    "GRANT SELECT ON contact_service, balance_snapshot, balance, bill_check TO dispatch_viewer",
    "GRANT INSERT, UPDATE ON contact_service TO dispatch_dispatcher, dispatch_engine",
    "GRANT INSERT, UPDATE, DELETE ON contact_service TO dispatch_admin",
    # An e-mail's unsubscribe link stops everything, like STOP (storage.consent.opt_out).
    "GRANT SELECT, UPDATE (consent, consent_at, consent_source) ON contact_service TO dispatch_web",
    "GRANT INSERT ON balance_snapshot, balance TO dispatch_admin",
    "GRANT USAGE, SELECT ON SEQUENCE balance_snapshot_id_seq TO dispatch_admin",
    "GRANT INSERT ON bill_check TO dispatch_engine",
    "GRANT USAGE, SELECT ON SEQUENCE bill_check_id_seq TO dispatch_engine",
]


def upgrade() -> None:
    op.create_table(
        "contact_service",
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("service", sa.String(length=24), nullable=False),
        sa.Column("consent", sa.String(length=16), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_source", sa.String(length=200), nullable=False),
        sa.CheckConstraint(
            "service IN ('bill_info', 'payment_reminder', 'reading_reminder')",
            name=op.f("ck_contact_service_service"),
        ),
        sa.CheckConstraint(
            "consent IN ('opted_in', 'pending', 'opted_out')",
            name=op.f("ck_contact_service_consent"),
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["contact.id"],
            name=op.f("fk_contact_service_contact_id_contact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("contact_id", "service", name=op.f("pk_contact_service")),
    )
    op.create_index(
        "ix_contact_service_service_consent",
        "contact_service",
        ["service", "consent", "contact_id"],
    )
    op.create_table(
        "balance_snapshot",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("utility_id", sa.Integer(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("imported_by", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=300), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["utility_id"],
            ["utility.id"],
            name=op.f("fk_balance_snapshot_utility_id_utility"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_balance_snapshot")),
        sa.UniqueConstraint(
            "utility_id", "as_of", name=op.f("uq_balance_snapshot_utility_id_as_of")
        ),
    )
    op.create_table(
        "balance",
        sa.Column("snapshot_id", sa.Integer(), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("due_date", sa.Date(), nullable=False),
        sa.Column("last_payment_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "amount_minor >= -100000000000 AND amount_minor <= 100000000000",
            name=op.f("ck_balance_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["balance_snapshot.id"],
            name=op.f("fk_balance_snapshot_id_balance_snapshot"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name=op.f("fk_balance_subscriber_id_subscriber"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("snapshot_id", "subscriber_id", name=op.f("pk_balance")),
    )
    op.create_index("ix_balance_subscriber_snapshot", "balance", ["subscriber_id", "snapshot_id"])
    op.create_table(
        "bill_check",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("subscriber_id", sa.Integer(), nullable=True),
        sa.Column("snapshot_id", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('answered', 'unverified', 'unknown_account', 'no_balance')",
            name=op.f("ck_bill_check_outcome"),
        ),
        sa.ForeignKeyConstraint(
            ["snapshot_id"],
            ["balance_snapshot.id"],
            name=op.f("fk_bill_check_snapshot_id_balance_snapshot"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["subscriber_id"],
            ["subscriber.id"],
            name=op.f("fk_bill_check_subscriber_id_subscriber"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bill_check")),
    )
    op.create_index("ix_bill_check_at", "bill_check", ["at"])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SERVICE_GUARD)
        op.execute(
            "CREATE TRIGGER dispatch_contact_service_guard BEFORE INSERT OR UPDATE "
            "ON contact_service FOR EACH ROW EXECUTE FUNCTION dispatch_contact_service_guard()"
        )
        for statement in GRANTS:
            op.execute(statement)


def downgrade() -> None:
    op.drop_table("bill_check")
    op.drop_table("balance")
    op.drop_table("balance_snapshot")
    op.drop_table("contact_service")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION dispatch_contact_service_guard()")
