"""the public web keeps the per-node contact counts right when someone unsubscribes

Revision ID: 0024
Revises: 0023

An unsubscribe (one-click, RFC 8058) is an opt-out like any other, so the
nodes above the subscriber lose a consenting contact (storage.counts). On
PostgreSQL the web's role may now read what that bookkeeping reads: which
subscriber a contact belongs to and its channel, a subscriber's language,
which points a subscriber has; and add to the per-node totals. Ids, a
channel, a language: no name, address, account or proof. It locks the
subscriber rows it counts for (FOR NO KEY UPDATE, as every other writer of
consent does), which PostgreSQL allows only to a role that may UPDATE some
column: the web is granted UPDATE of `language` for the lock alone, and a
trigger refuses any UPDATE of a subscriber by the web's role.
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

ROLE = "dispatch_web"
GRANTS = (
    "SELECT (id, subscriber_id, channel, consent) ON contact",
    "SELECT (id, language) ON subscriber",
    "UPDATE (language) ON subscriber",
    "SELECT (subscriber_id, mp_id) ON subscription",
    "SELECT, INSERT, UPDATE ON node_contacts",
)


GUARD = f"""
CREATE FUNCTION dispatch_web_subscriber_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- current_user: the web's own functions (SECURITY DEFINER) run as the owner.
    IF pg_has_role(current_user, '{ROLE}', 'MEMBER') AND NOT EXISTS (
        SELECT FROM pg_class c
        WHERE c.oid = TG_RELID AND pg_has_role(current_user, c.relowner, 'MEMBER')
    ) THEN
        PERFORM dispatch_refuse('the public web changes no subscriber');
    END IF;
    RETURN NEW;
END
$$"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for grant in GRANTS:
        op.execute(f"GRANT {grant} TO {ROLE}")
    op.execute(GUARD)
    op.execute(
        "CREATE TRIGGER dispatch_web_subscriber_guard BEFORE UPDATE ON subscriber "
        "FOR EACH ROW EXECUTE FUNCTION dispatch_web_subscriber_guard()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS dispatch_web_subscriber_guard ON subscriber")
    op.execute("DROP FUNCTION IF EXISTS dispatch_web_subscriber_guard()")
    for grant in GRANTS:
        op.execute(f"REVOKE {grant} FROM {ROLE}")
