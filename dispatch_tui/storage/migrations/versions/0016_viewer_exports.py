"""viewers record their evidence exports in the audit log, and nothing else

Revision ID: 0016
Revises: 0015

Whoever may view outages may export their delivery evidence, and each export is
recorded in the audit log (storage.evidence). On PostgreSQL viewers could not insert
audit rows at all; they may now, but the database lets a viewer's row be an export
record only: an audit row names an act (an approval, a priority customer called) that
others rely on, and a viewer performs none. The actor is still the session user
(migration 0012's trigger).
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

EXPORT_ACTION = "export_evidence"
FUNCTION = "dispatch_viewer_exports_only()"


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("GRANT INSERT ON audit_log TO dispatch_viewer")
    op.execute("GRANT USAGE, SELECT ON SEQUENCE audit_log_id_seq TO dispatch_viewer")
    op.execute(f"""
CREATE FUNCTION {FUNCTION} RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NOT dispatch_trusted(TG_RELID) AND NOT dispatch_is_engine()
       AND NOT pg_has_role(session_user, 'dispatch_dispatcher', 'MEMBER')
       AND NEW.action IS DISTINCT FROM '{EXPORT_ACTION}' THEN
        PERFORM dispatch_refuse(format(
            '%s is a viewer: their audit rows record evidence exports only, not %s',
            session_user, NEW.action));
    END IF;
    RETURN NEW;
END
$$""")
    op.execute(
        "CREATE TRIGGER dispatch_viewer_exports BEFORE INSERT ON audit_log "
        f"FOR EACH ROW EXECUTE FUNCTION {FUNCTION}"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS dispatch_viewer_exports ON audit_log")
    op.execute(f"DROP FUNCTION IF EXISTS {FUNCTION}")
    op.execute("REVOKE USAGE, SELECT ON SEQUENCE audit_log_id_seq FROM dispatch_viewer")
    op.execute("REVOKE INSERT ON audit_log FROM dispatch_viewer")
