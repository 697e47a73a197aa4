"""Core table handles for set-based queries (`node.c.path`, …)."""

from __future__ import annotations

from dispatch_tui.storage.models import (
    AuditEntry,
    Contact,
    MeteringPoint,
    Node,
    Subscriber,
    Subscription,
    Utility,
)

utility = Utility.__table__
node = Node.__table__
metering_point = MeteringPoint.__table__
subscriber = Subscriber.__table__
contact = Contact.__table__
subscription = Subscription.__table__
audit_log = AuditEntry.__table__
