"""Core table handles for set-based queries (`node.c.path`, …)."""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from dispatch_tui.storage.models import (
    AuditEntry,
    Balance,
    BalanceSnapshot,
    BillCheck,
    BotChat,
    Campaign,
    ChangeCounter,
    ChannelControl,
    Contact,
    ContactScope,
    ContactService,
    ContactToken,
    DeliveryEvent,
    EngineProcess,
    InboundMessage,
    Message,
    MeteringPoint,
    MeterReading,
    Node,
    NodeContacts,
    Notice,
    Outage,
    OutageEditor,
    OutageSelection,
    ProofFailure,
    RoleChange,
    SearchTerm,
    SharedSubscription,
    Signup,
    SignupAttempt,
    Subscriber,
    Subscription,
    User,
    Utility,
)

utility = cast(Table, Utility.__table__)
node = cast(Table, Node.__table__)
node_contacts = cast(Table, NodeContacts.__table__)
shared_subscription = cast(Table, SharedSubscription.__table__)
metering_point = cast(Table, MeteringPoint.__table__)
subscriber = cast(Table, Subscriber.__table__)
contact = cast(Table, Contact.__table__)
contact_scope = cast(Table, ContactScope.__table__)
subscription = cast(Table, Subscription.__table__)
app_user = cast(Table, User.__table__)
search_term = cast(Table, SearchTerm.__table__)
role_change = cast(Table, RoleChange.__table__)
outage = cast(Table, Outage.__table__)
outage_selection = cast(Table, OutageSelection.__table__)
outage_editor = cast(Table, OutageEditor.__table__)
notice = cast(Table, Notice.__table__)
message = cast(Table, Message.__table__)
campaign = cast(Table, Campaign.__table__)
delivery_event = cast(Table, DeliveryEvent.__table__)
audit_log = cast(Table, AuditEntry.__table__)
engine_process = cast(Table, EngineProcess.__table__)
channel_control = cast(Table, ChannelControl.__table__)
inbound_message = cast(Table, InboundMessage.__table__)
bot_chat = cast(Table, BotChat.__table__)
proof_failure = cast(Table, ProofFailure.__table__)
change_counter = cast(Table, ChangeCounter.__table__)
signup = cast(Table, Signup.__table__)
signup_attempt = cast(Table, SignupAttempt.__table__)
contact_token = cast(Table, ContactToken.__table__)
contact_service = cast(Table, ContactService.__table__)
balance_snapshot = cast(Table, BalanceSnapshot.__table__)
balance = cast(Table, Balance.__table__)
bill_check = cast(Table, BillCheck.__table__)
meter_reading = cast(Table, MeterReading.__table__)
