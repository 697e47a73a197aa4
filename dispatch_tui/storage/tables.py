"""Core table handles for set-based queries (`node.c.path`, …)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from dispatch_tui.storage.models import (
    AuditEntry,
    Contact,
    MeteringPoint,
    Node,
    Subscriber,
    Subscription,
    Utility,
)

utility = cast(Table, Utility.__table__)
node = cast(Table, Node.__table__)
metering_point = cast(Table, MeteringPoint.__table__)
subscriber = cast(Table, Subscriber.__table__)
contact = cast(Table, Contact.__table__)
subscription = cast(Table, Subscription.__table__)
audit_log = cast(Table, AuditEntry.__table__)
