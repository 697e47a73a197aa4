"""A process's hold on building one row's messages (a notice's or a campaign's fan-out).

The row was claimed with a conditional UPDATE that set its building status,
`lease_owner` and `lease_until`. Every write of the fan-out renews the lease
in the same transaction, and only if the row is still ours (the lease we last
wrote, not merely our owner name, so a takeover in between, even by this
process, is seen): a long fan-out keeps its row, and one whose lease ran out
and was taken over stops instead of working on beside the new owner.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, Table, update

from dispatch_tui.storage.db import write_transaction


class LeaseLost(Exception):
    """Our claim on a fan-out ended (taken over, cancelled, reset)."""


class BuildLease:
    """Time runs on from the caller's `now` (by the monotonic clock), so renewals
    agree with the claim's clock."""

    def __init__(
        self,
        engine: Engine,
        table: Table,
        row_id: int,
        *,
        status: str,
        owner: str,
        length: timedelta,
        now: datetime,
    ) -> None:
        self.engine = engine
        self.table = table
        self.row_id = row_id
        self.status = status
        self.owner = owner
        self.length = length
        self.until = now + length
        self._start = now
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self._start + timedelta(seconds=time.monotonic() - self._started)

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction that first renews the lease, if it is still ours."""
        until = self.now() + self.length
        t = self.table
        with write_transaction(self.engine) as conn:
            renewed = conn.execute(
                update(t)
                .where(
                    t.c.id == self.row_id,
                    t.c.status == self.status,
                    t.c.lease_owner == self.owner,
                    t.c.lease_until == self.until,
                )
                .values(lease_until=until)
            ).rowcount
            if not renewed:
                raise LeaseLost(
                    f"{t.name} {self.row_id}: {self.owner} lost its fan-out lease"
                    f" (taken over after it ran out, or the {t.name} was cancelled)"
                )
            yield conn
        self.until = until
