"""the database refuses reading settings the importer refuses

Revision ID: 0030
Revises: 0029

A utility's reading window (the month's last `opens_days` days to day
`closes_day` of the next) was checked only by `domain.reading_window` on
import, so an UPDATE from psql could set 15 and 15: in February the next
window then opened before the last had closed, and one day fell in two
periods. The same bounds now hold in the database: a CHECK on PostgreSQL; on
SQLite, which cannot add one to a table others reference without rebuilding
it, a trigger. Settings an older version accepted that span more than 28
days are shortened at the closing end first.
"""

from __future__ import annotations

from alembic import op

revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

VALID = (
    "reading_registers IN (1, 2)"
    " AND reading_opens_days BETWEEN 1 AND 15"
    " AND reading_closes_day BETWEEN 1 AND 15"
    " AND reading_opens_days + reading_closes_day <= 28"
    " AND reading_max_kwh_day BETWEEN 1 AND 100000"
)
NAME = "ck_utility_reading_settings"
REFUSAL = (
    "utility reading settings out of range: registers 1 or 2, opens_days and"
    " closes_day 1 to 15 and together at most 28, max_kwh_day 1 to 100000"
)


def upgrade() -> None:
    op.execute(
        "UPDATE utility SET reading_closes_day = 28 - reading_opens_days"
        " WHERE reading_opens_days + reading_closes_day > 28"
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE utility ADD CONSTRAINT {NAME} CHECK ({VALID})")
        return
    for event in ("INSERT", "UPDATE"):
        op.execute(
            f"CREATE TRIGGER {NAME}_{event.lower()} BEFORE {event} ON utility"
            f" WHEN NOT ({VALID.replace('reading_', 'NEW.reading_')})"
            f" BEGIN SELECT RAISE(ABORT, '{REFUSAL}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE utility DROP CONSTRAINT {NAME}")
        return
    for event in ("insert", "update"):
        op.execute(f"DROP TRIGGER {NAME}_{event}")
