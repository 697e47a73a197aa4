"""The database schema: one SQLAlchemy 2 model per table.

Hot paths (counting, fan-out, imports) use these tables through Core
(`Model.__table__`); the ORM classes serve the places where objects read
better. Columns compared by prefix ranges (`path`, search keys) use the
binary "C" collation on PostgreSQL so that `>=`/`<` ranges mean byte prefixes
there exactly as they do in SQLite.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    text,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def key_string(length: int) -> String:
    """A string compared by byte order on every backend (for prefix ranges)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are stored in UTC (rule 5) and always timezone-aware in Python.

    SQLite has no time zone type: values go in as naive UTC and come back
    with UTC attached, so both backends hand out the same objects.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: times must carry a time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime()}


NODE_KINDS = ("region", "substation", "feeder", "transformer_station")
CHANNELS = ("sms", "email", "telegram", "viber")
CONSENT_STATES = ("opted_in", "pending", "opted_out")
SERVICES = ("bill_info", "payment_reminder", "reading_reminder")
"""Services besides outage notices, each with its own consent per contact
(`contact_service`); `contact.consent` is the consent to outage notices."""
READING_CHANNELS = ("sms", "telegram", "viber", "web", "operator")
READING_STATES = ("accepted", "replaced", "refused")
BILL_CHECK_OUTCOMES = ("answered", "unverified", "unknown_account", "no_balance")
ROLES = ("dispatcher", "shift_lead", "admin", "viewer")
OUTAGE_STATES = ("draft", "submitted", "approved", "completed", "cancelled")
NOTICE_KINDS = ("advance", "day_before", "day_of", "immediate", "amendment", "cancellation")
NOTICE_STATES = ("scheduled", "due", "fanning_out", "done", "cancelled", "skipped")
NOTICE_AUDIENCES = ("all", "told", "untold")
CAMPAIGN_KINDS = ("payment_reminder", "reading_reminder")
"""Mass sends that are not about an outage; each is also the service its
recipients consent to (`contact_service.service`)."""
CAMPAIGN_STATES = ("draft", "submitted", "approved", "sending", "done", "cancelled")
MESSAGE_STATES = (
    "pending",
    "sending",
    "sent",
    "delivered",
    "retry_wait",
    "failed",
    "expired",
    "unknown",
    "cancelled",
)


def _in(column: str, values: tuple[str, ...]) -> str:
    quoted = ", ".join(f"'{v}'" for v in values)
    return f"{column} IN ({quoted})"


class Utility(Base):
    """A distribution operator: the root of one network tree."""

    __tablename__ = "utility"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str] = mapped_column(String(2))
    timezone: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(8))
    contact_phone: Mapped[str] = mapped_column(String(32))
    sms_sender: Mapped[str] = mapped_column(String(16))
    # Meter readings (domain.reading_window.ReadingSettings): registers (1, or 2 for
    # day/night), the window (last `opens_days` of the month to day `closes_day` of the
    # next, local time) and the most kWh a day a reading may imply.
    reading_registers: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    reading_opens_days: Mapped[int] = mapped_column(Integer, default=2, server_default="2")
    reading_closes_day: Mapped[int] = mapped_column(Integer, default=3, server_default="3")
    reading_max_kwh_day: Mapped[int] = mapped_column(Integer, default=150, server_default="150")


class Node(Base):
    """A network node above the metering points.

    `path` is the materialized path of node ids, "/12/340/5600/": the
    descendants of a node are exactly the rows whose path lies in
    [path, path[:-1] + "0"), a range a plain B-tree index answers.
    `mp_count`/`priority_count`/`subscriber_count` are cached subtree
    totals, refreshed by whatever changes metering points or subscriptions
    (imports, demo); storage.counts explains them and `NodeContacts`.
    """

    __tablename__ = "node"
    __table_args__ = (
        UniqueConstraint("utility_id", "code"),
        Index("ix_node_parent_sort", "parent_id", "name", "id"),
        Index("ix_node_utility_root", "utility_id", "parent_id"),
        CheckConstraint(_in("kind", NODE_KINDS), name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    utility_id: Mapped[int] = mapped_column(ForeignKey("utility.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("node.id"))
    kind: Mapped[str] = mapped_column(String(24))
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(key_string(255), index=True)
    mp_count: Mapped[int] = mapped_column(Integer, default=0)
    priority_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    subscriber_count: Mapped[int] = mapped_column(Integer, default=0)


class NodeContacts(Base):
    """Consenting contacts by channel and their subscriber's language, over the
    distinct subscribers with a metering point under the node (a subtree total,
    like `Node.subscriber_count`): a preview of whole nodes sums these rows
    instead of counting subscribers (storage.counts keeps them right)."""

    __tablename__ = "node_contacts"
    node_id: Mapped[int] = mapped_column(
        ForeignKey("node.id", ondelete="CASCADE"), primary_key=True
    )
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    language: Mapped[str] = mapped_column(String(8), primary_key=True)
    contacts: Mapped[int] = mapped_column(Integer)


class SharedSubscription(Base):
    """The subscriptions of subscribers with more than one metering point, with
    the point's path: a sum of node totals finds here the subscribers it counts
    twice, and the preview its worst-case subscribers (storage.counts); an
    index range scan on `path` without touching the other subscriptions."""

    __tablename__ = "shared_subscription"
    __table_args__ = (
        Index("ix_shared_subscription_path", "path", "subscriber_id"),
        Index("ix_shared_subscription_mp", "mp_id"),
    )
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), primary_key=True
    )
    mp_id: Mapped[int] = mapped_column(
        ForeignKey("metering_point.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(key_string(255))


class MeteringPoint(Base):
    """A leaf of the network: one supply address with its meter.

    `path` repeats the parent node's path so that "every metering point under
    node X" is one index range scan, without joining the node table.
    `search_key` is the folded address ("street house settlement") that
    address prefix search runs on.
    """

    __tablename__ = "metering_point"
    __table_args__ = (
        UniqueConstraint("utility_id", "mp_id"),
        Index("ix_metering_point_path", "path", "id"),
        Index("ix_metering_point_node", "node_id", "mp_id"),
        Index("ix_metering_point_search_key", "search_key"),
        Index("ix_metering_point_eic", "eic"),
        Index("ix_metering_point_meter_number", "meter_number"),
        Index("ix_metering_point_mp_id", "mp_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    utility_id: Mapped[int] = mapped_column(ForeignKey("utility.id", ondelete="CASCADE"))
    node_id: Mapped[int] = mapped_column(ForeignKey("node.id"))
    path: Mapped[str] = mapped_column(key_string(255))
    mp_id: Mapped[str] = mapped_column(key_string(32))
    settlement: Mapped[str] = mapped_column(String(120))
    street: Mapped[str] = mapped_column(String(200))
    house: Mapped[str] = mapped_column(String(32))
    search_key: Mapped[str] = mapped_column(key_string(255))
    eic: Mapped[str | None] = mapped_column(key_string(16))
    meter_number: Mapped[str | None] = mapped_column(key_string(32))
    priority: Mapped[bool] = mapped_column(Boolean, default=False)


PLACE_KINDS = (*NODE_KINDS, "settlement", "street")


class SearchTerm(Base):
    """A place's name from one of its words on, folded (domain.text.name_terms):
    "Nadzorništvo Kranj" is found by "nadz…" and by "kranj", each an index
    range scan on `term`.

    Places are network nodes (by name and by code) and the settlements and
    streets of metering points. `node_id` is the node a hit shows in the
    tree: the node itself, or for a settlement or street the lowest node
    holding all of its metering points (None: they span regions, so the
    utility). Derived from node and metering_point; storage.search_terms
    rebuilds a utility's rows wherever those change.
    """

    __tablename__ = "search_term"
    __table_args__ = (
        Index("ix_search_term_term", "term"),
        CheckConstraint(_in("kind", PLACE_KINDS), name="kind"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    utility_id: Mapped[int] = mapped_column(ForeignKey("utility.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(key_string(255))
    kind: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(String(200))
    """What the hit shows: the node's name, the settlement, or the street."""
    detail: Mapped[str] = mapped_column(String(200))
    """The node's code, or a street's settlement."""
    starts_name: Mapped[bool] = mapped_column(Boolean)
    """The term is the whole name (or code), not a later word of it: ranks first."""
    node_id: Mapped[int | None] = mapped_column(ForeignKey("node.id", ondelete="CASCADE"))
    path: Mapped[str] = mapped_column(key_string(255))
    """`node_id`'s path ("" for the utility), so revealing it needs no lookup."""
    mp_count: Mapped[int] = mapped_column(Integer)


class Subscriber(Base):
    """A customer account that receives notices."""

    __tablename__ = "subscriber"
    __table_args__ = (
        UniqueConstraint("utility_id", "account"),
        Index("ix_subscriber_account", "account"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    utility_id: Mapped[int] = mapped_column(ForeignKey("utility.id", ondelete="CASCADE"))
    account: Mapped[str] = mapped_column(key_string(32))
    name: Mapped[str] = mapped_column(String(200), default="")
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime]
    # Self-service (bot, SMS proof) stopped after too many wrong proofs, until an
    # operator lifts it; wrong proofs before the lift no longer count.
    self_service_locked_at: Mapped[datetime | None]
    self_service_unlocked_at: Mapped[datetime | None]


class Contact(Base):
    """One way to reach a subscriber, with its own consent (opt-out wins)."""

    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("subscriber_id", "channel", "address"),
        Index("ix_contact_channel_address", "channel", "address"),
        # Index-only lookup of a subscriber's consenting contacts (preview, fan-out).
        Index("ix_contact_subscriber_consent", "subscriber_id", "consent", "channel"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
        CheckConstraint(_in("consent", CONSENT_STATES), name="consent"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    consent: Mapped[str] = mapped_column(String(16))
    consent_at: Mapped[datetime]
    consent_source: Mapped[str] = mapped_column(String(200))
    # Ownership shown (bot or SMS proof, or the utility's own records); a sign-up by
    # id alone is not, and its notices name metering points, never street addresses.
    proven: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())


class ContactScope(Base):
    """The metering points a contact is about, when not the whole account: an SMS
    sign-up names one metering point and must not hear of the customer's others.
    A contact with no rows here covers every metering point of its subscriber."""

    __tablename__ = "contact_scope"
    __table_args__ = (Index("ix_contact_scope_mp", "mp_id", "contact_id"),)
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    mp_id: Mapped[int] = mapped_column(
        ForeignKey("metering_point.id", ondelete="CASCADE"), primary_key=True
    )


class ProofFailure(Base):
    """A wrong meter number or EIC tail for an account, by bot or SMS: the
    evidence behind the limits per account and per chat (domain/bot_dialogue)."""

    __tablename__ = "proof_failure"
    __table_args__ = (
        Index("ix_proof_failure_account_at", "account", "at"),
        Index("ix_proof_failure_chat_at", "channel", "chat", "at"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16))
    chat: Mapped[str] = mapped_column(String(64))
    """The chat or user id, or for SMS the phone."""
    account: Mapped[str] = mapped_column(String(32))


class Subscription(Base):
    """Subscriber ↔ metering point, many to many."""

    __tablename__ = "subscription"
    __table_args__ = (Index("ix_subscription_mp", "mp_id", "subscriber_id"),)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), primary_key=True
    )
    mp_id: Mapped[int] = mapped_column(
        ForeignKey("metering_point.id", ondelete="CASCADE"), primary_key=True
    )
    created_at: Mapped[datetime]


class OutageEditor(Base):
    """Who changed an outage's content in an approval cycle; none of them may approve it."""

    __tablename__ = "outage_editor"
    outage_id: Mapped[int] = mapped_column(
        ForeignKey("outage.id", ondelete="CASCADE"), primary_key=True
    )
    cycle: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    edited_at: Mapped[datetime]


class RoleChange(Base):
    """Who held which role from when: the send path checks that an outage's
    approver held a role that may approve at the moment of approval."""

    __tablename__ = "role_change"
    __table_args__ = (Index("ix_role_change_user_at", "username", "changed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    role: Mapped[str | None] = mapped_column(String(16))
    """None: the user was removed."""
    changed_at: Mapped[datetime]
    changed_by: Mapped[str] = mapped_column(String(64))


class User(Base):
    """An operator, identified by their operating-system login."""

    __tablename__ = "app_user"
    __table_args__ = (CheckConstraint(_in("role", ROLES), name="role"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime]


class Outage(Base):
    """A planned interruption and its approval state.

    Four-eyes lives in the schema: an approver can never be the author, nor
    whoever last changed the window. The affected totals are cached when the
    selection is saved so the outages list needs no counting.
    """

    __tablename__ = "outage"
    __table_args__ = (
        CheckConstraint(_in("status", OUTAGE_STATES), name="status"),
        CheckConstraint("approved_by IS NULL OR approved_by <> created_by", name="four_eyes"),
        CheckConstraint(
            "approved_by IS NULL OR amended_by IS NULL OR approved_by <> amended_by",
            name="four_eyes_amendment",
        ),
        CheckConstraint("ends_at > starts_at", name="window"),
        CheckConstraint(
            "status NOT IN ('approved', 'completed') OR approved_by IS NOT NULL",
            name="approved_has_approver",
        ),
        Index("ix_outage_status_start", "status", "starts_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    utility_id: Mapped[int] = mapped_column(ForeignKey("utility.id"))
    title: Mapped[str] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(Text)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    channels: Mapped[list[str]] = mapped_column(JSON)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON)
    texts: Mapped[dict[str, str]] = mapped_column(JSON)
    # The reason in languages other than the utility's (`reason`), which those
    # without one fall back to.
    reasons: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    # What the approver decided when the SMS did not fit the cap (transliterate,
    # segments accepted per language); set only by approving.
    sms_decision: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    submitted_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None]
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    amended_by: Mapped[str | None] = mapped_column(String(64))
    # Bumped when an approved outage is amended: outage_editor rows of the
    # current cycle are everyone who changed the content since the last approval.
    edit_cycle: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    follow_up: Mapped[str | None] = mapped_column(String(16))
    # The window customers were last told, kept from the first amendment
    # until the amendment notice is planned (it says "was ..., now ...").
    told_starts_at: Mapped[datetime | None]
    told_ends_at: Mapped[datetime | None]
    """A notice owed after the next approval (an amendment to those already told)."""
    affected_mps: Mapped[int] = mapped_column(Integer, default=0)
    affected_subscribers: Mapped[int] = mapped_column(Integer, default=0)


class Campaign(Base):
    """A mass send that is not about an outage (a payment or meter-reading
    reminder), approved like an outage: four-eyes in the schema, its fan-out
    claimed under a lease like a notice's (`storage.campaign_fanout`)."""

    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint(_in("kind", CAMPAIGN_KINDS), name="kind"),
        CheckConstraint(_in("status", CAMPAIGN_STATES), name="status"),
        CheckConstraint("approved_by IS NULL OR approved_by <> created_by", name="four_eyes"),
        CheckConstraint(
            "status NOT IN ('approved', 'sending', 'done') OR approved_by IS NOT NULL",
            name="approved_has_approver",
        ),
        CheckConstraint(
            "kind <> 'payment_reminder' OR (snapshot_id IS NOT NULL AND min_days_overdue >= 1)",
            name="payment_reminder_audience",
        ),
        Index("ix_campaign_status_due", "status", "due_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    utility_id: Mapped[int] = mapped_column(ForeignKey("utility.id"))
    kind: Mapped[str] = mapped_column(String(24))
    min_days_overdue: Mapped[int | None] = mapped_column(Integer)
    snapshot_id: Mapped[int | None] = mapped_column(ForeignKey("balance_snapshot.id"))
    """The newest balances snapshot when drafted: who is overdue in it."""
    channels: Mapped[list[str]] = mapped_column(JSON)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="draft")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime]
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime | None]
    approved_by: Mapped[str | None] = mapped_column(String(64))
    approved_at: Mapped[datetime | None]
    cancelled_by: Mapped[str | None] = mapped_column(String(64))
    cancelled_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    built_at: Mapped[datetime | None]
    """When its fan-out finished (status done)."""


class OutageSelection(Base):
    """One entry of an outage's affected area: a node or a single metering
    point, included or excluded (an exclusion under an included node)."""

    __tablename__ = "outage_selection"
    __table_args__ = (
        CheckConstraint("(node_id IS NULL) <> (mp_id IS NULL)", name="one_target"),
        Index("ix_outage_selection_outage", "outage_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    outage_id: Mapped[int] = mapped_column(ForeignKey("outage.id", ondelete="CASCADE"))
    node_id: Mapped[int | None] = mapped_column(ForeignKey("node.id"))
    mp_id: Mapped[int | None] = mapped_column(ForeignKey("metering_point.id"))
    exclude: Mapped[bool] = mapped_column(Boolean, default=False)


class Notice(Base):
    """One timed notice of an outage; its fan-out is claimed under a lease."""

    __tablename__ = "notice"
    __table_args__ = (
        CheckConstraint(_in("kind", NOTICE_KINDS), name="kind"),
        CheckConstraint(_in("status", NOTICE_STATES), name="status"),
        CheckConstraint(_in("audience", NOTICE_AUDIENCES), name="audience"),
        Index("ix_notice_status_due", "status", "due_at"),
        Index("ix_notice_outage", "outage_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    outage_id: Mapped[int] = mapped_column(ForeignKey("outage.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    channels: Mapped[list[str]] = mapped_column(JSON)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    outage_revision: Mapped[int] = mapped_column(Integer, default=1)
    # all, told (follow-ups) or untold (a kind those told already had): domain.transition_notices
    audience: Mapped[str] = mapped_column(String(8), default="all", server_default="all")
    previous_starts_at: Mapped[datetime | None]
    previous_ends_at: Mapped[datetime | None]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]


class Message(Base):
    """The outbox: one row per (notice, contact) or (campaign, contact), created once.

    Replies to inbound SMS and bot updates have no notice (and maybe no
    contact: an unknown number still gets its one help text) but always the
    inbound row they answer; `sender` is then the number the person wrote
    to, so the reply comes from where they expect it.
    """

    __tablename__ = "message"
    __table_args__ = (
        UniqueConstraint("notice_id", "contact_id"),
        CheckConstraint(_in("status", MESSAGE_STATES), name="status"),
        Index("ix_message_claim", "status", "channel", "next_attempt_at"),
        Index("ix_message_gateway_ref", "gateway_ref"),
        # Monitor counts per notice and channel, and cancelling what is pending.
        Index("ix_message_notice_channel_status", "notice_id", "channel", "status"),
        # A contact's history, and cancelling what waits for it on opt-out.
        Index("ix_message_contact", "contact_id"),
        Index("ix_message_inbound", "inbound_id"),
        # Delivery reports of the last minutes, for the metrics' report lag.
        Index(
            "ix_message_delivered",
            "delivered_at",
            sqlite_where=text("delivered_at IS NOT NULL"),
            postgresql_where=text("delivered_at IS NOT NULL"),
        ),
        # Nothing is sent that no approved notice or campaign, or stored inbound message, asked for.
        CheckConstraint(
            "notice_id IS NOT NULL OR inbound_id IS NOT NULL OR campaign_id IS NOT NULL",
            name="notice_or_inbound",
        ),
        # One message per (campaign, contact); monitor counts per campaign.
        Index("ix_message_campaign_contact", "campaign_id", "contact_id", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notice.id", ondelete="CASCADE"))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8))
    sender: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    segments: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    expires_at: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[datetime | None]
    gateway_ref: Mapped[str | None] = mapped_column(String(128))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    # An e-mail notice's one-click unsubscribe link (RFC 8058), also in its body.
    unsubscribe_url: Mapped[str | None] = mapped_column(String(500))
    # The inbound SMS or bot update this reply answers (inbound_message.channel says which).
    inbound_id: Mapped[int | None] = mapped_column(ForeignKey("inbound_message.id", use_alter=True))
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaign.id"))


class DeliveryEvent(Base):
    """Evidence per recipient: every state change and gateway report."""

    __tablename__ = "delivery_event"
    __table_args__ = (Index("ix_delivery_event_message", "message_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"))
    at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text, default="")


class InboundMessage(Base):
    """Every SMS and bot update that reached us, and what was done about it
    (evidence, the counts behind the reply limits, and what replies answer)."""

    __tablename__ = "inbound_message"
    __table_args__ = (
        Index("ix_inbound_message_sender_received", "sender", "received_at"),
        Index("ix_inbound_message_received", "received_at", "replied"),
        CheckConstraint(_in("channel", CHANNELS), name="channel"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    received_at: Mapped[datetime]
    # sms, or telegram/viber for a bot update (then `sender` is the chat or user id).
    channel: Mapped[str] = mapped_column(String(16), default="sms", server_default="sms")
    # The phone, chat or user id; for a web sign-up's code request the phone or e-mail
    # (320). SQLite keeps the 64 it was made with: it enforces no length, and widening
    # it would rebuild the table, which the messages answering its rows point at.
    sender: Mapped[str] = mapped_column(String(320).with_variant(String(64), "sqlite"))
    receiver: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    gateway_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    command: Mapped[str | None] = mapped_column(String(32))
    identifier: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(300))
    replied: Mapped[bool] = mapped_column(Boolean, default=False)
    reply_message_id: Mapped[int | None] = mapped_column(ForeignKey("message.id"))


SIGNUP_STATES = ("pending", "confirmed", "active")
SIGNUP_ATTEMPTS = ("start", "code", "confirm")


class Signup(Base):
    """One address a web sign-up wants notices at, waiting for its code (storage.signup).

    Made only after the proof matched; active once the code came back. The
    browser holds the token, the row its hash; the code is kept as an HMAC
    keyed with that token. `inbound_id` is the stored request the code
    messages answer (receiver "web"), so the outbox sends them like replies.
    """

    __tablename__ = "signup"
    __table_args__ = (
        CheckConstraint(_in("channel", ("sms", "email")), name="channel"),
        CheckConstraint(_in("status", SIGNUP_STATES), name="status"),
        Index("ix_signup_status", "status", "confirmed_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    utility_id: Mapped[int] = mapped_column(ForeignKey("utility.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscriber.id", ondelete="CASCADE"))
    mp_id: Mapped[int | None] = mapped_column(ForeignKey("metering_point.id", ondelete="CASCADE"))
    """A sign-up by metering point hears of that place only (contact_scope)."""
    identifier: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(320))
    language: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    code_hash: Mapped[str] = mapped_column(String(64))
    code_issued_at: Mapped[datetime]
    wrong_tries: Mapped[int] = mapped_column(Integer, default=0)
    inbound_id: Mapped[int] = mapped_column(ForeignKey("inbound_message.id"))
    created_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    activated_at: Mapped[datetime | None]
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))


class SignupAttempt(Base):
    """Every sign-up start, code sent and code entered: the counts behind the rate
    limits per IP, per phone or address and per account. IPs and addresses are kept
    only as keyed digests (`storage.signup._key`)."""

    __tablename__ = "signup_attempt"
    __table_args__ = (
        CheckConstraint(_in("kind", SIGNUP_ATTEMPTS), name="kind"),
        Index("ix_signup_attempt_ip", "ip_key", "kind", "at"),
        Index("ix_signup_attempt_address", "address_key", "kind", "at"),
        Index("ix_signup_attempt_account", "account", "kind", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    kind: Mapped[str] = mapped_column(String(8))
    ip_key: Mapped[str] = mapped_column(String(64))
    address_key: Mapped[str | None] = mapped_column(String(64))
    account: Mapped[str | None] = mapped_column(String(32))


class ContactToken(Base):
    """The secret in a contact's unsubscribe links: random, one per contact, made
    when its first e-mail notice is built (storage.unsubscribe)."""

    __tablename__ = "contact_token"
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class BotChat(Base):
    """Where a Telegram or Viber chat is in the conversation (domain/bot_dialogue)."""

    __tablename__ = "bot_chat"
    __table_args__ = (
        UniqueConstraint("channel", "chat_id"),
        CheckConstraint(_in("channel", ("telegram", "viber")), name="channel"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    chat_id: Mapped[str] = mapped_column(String(64))
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    last_update_id: Mapped[int | None] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class EngineProcess(Base):
    """A process that sends (app or headless engine) and its heartbeat.

    Leases name their holder by this id, so the monitor can say which
    process holds what and whether it is still alive.
    """

    __tablename__ = "engine_process"
    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    stopped_at: Mapped[datetime | None]
    # The channels it has a sender for; None (an older version): unknown, taken as all.
    channels: Mapped[list[str] | None] = mapped_column(JSON)
    # The channels whose gateway it finds down, written with each heartbeat.
    gateways_down: Mapped[list[str] | None] = mapped_column(JSON)
    # Of `channels`, those whose sender only pretends (the sandbox); None: unknown.
    sandbox_channels: Mapped[list[str] | None] = mapped_column(JSON)


class ChannelControl(Base):
    """An operator's pause of a channel, shared by every sending process."""

    __tablename__ = "channel_control"
    __table_args__ = (CheckConstraint(_in("channel", CHANNELS), name="channel"),)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    changed_by: Mapped[str] = mapped_column(String(64))
    changed_at: Mapped[datetime]


class AuditEntry(Base):
    """Append-only decision log; each row's hash covers the previous hash.

    A row written by a process that may not read the audit key has no hashes
    yet: the key's holder (the engine's service account) seals it
    (`storage.audit.seal`)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id", "action"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64), unique=True)


class ChangeCounter(Base):
    """What changed, for terminals following each other: one row per topic,
    bumped by triggers in the writing transaction (`storage.changes`).

    SQLite only counts here; on PostgreSQL the same triggers NOTIFY instead
    (a row that every writer updated would queue them behind each other)."""

    __tablename__ = "change_counter"
    topic: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


class SignupProof(Base):
    """A proof `dispatch_web_prove` matched, in the transaction that checked it: on
    PostgreSQL the web's insert of a sign-up must name a subscriber one matched
    (migration 0025). Written by that function alone; rows live an hour."""

    __tablename__ = "signup_proof"
    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int]
    mp_id: Mapped[int | None]
    xact: Mapped[int] = mapped_column(BigInteger)
    at: Mapped[datetime]


class ContactService(Base):
    """A contact's consent to one service besides outage notices (those are
    `contact.consent`). No row: never asked, which means no. STOP ends all of them."""

    __tablename__ = "contact_service"
    __table_args__ = (
        CheckConstraint(_in("service", SERVICES), name="service"),
        CheckConstraint(_in("consent", CONSENT_STATES), name="consent"),
        # Who consents to a service (campaign audiences), without reading contacts.
        Index("ix_contact_service_service_consent", "service", "consent", "contact_id"),
    )
    contact_id: Mapped[int] = mapped_column(
        ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True
    )
    service: Mapped[str] = mapped_column(String(24), primary_key=True)
    consent: Mapped[str] = mapped_column(String(16))
    consent_at: Mapped[datetime]
    consent_source: Mapped[str] = mapped_column(String(200))


class BalanceSnapshot(Base):
    """One import of the billing system's balances for a utility, as of a moment.
    Snapshots only move forward: one older than the newest is refused."""

    __tablename__ = "balance_snapshot"
    __table_args__ = (UniqueConstraint("utility_id", "as_of"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    utility_id: Mapped[int] = mapped_column(ForeignKey("utility.id", ondelete="CASCADE"))
    as_of: Mapped[datetime]
    imported_at: Mapped[datetime]
    imported_by: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(300))
    """The file's name, as evidence of where the figures came from."""
    rows: Mapped[int] = mapped_column(Integer)


class Balance(Base):
    """What one snapshot said an account owed. Amounts are in minor units
    (stotinki, kopiyky, cents) so that no backend rounds them."""

    __tablename__ = "balance"
    __table_args__ = (
        CheckConstraint(
            "amount_minor >= -100000000000 AND amount_minor <= 100000000000", name="amount"
        ),
        # An account's newest balance, and its history.
        Index("ix_balance_subscriber_snapshot", "subscriber_id", "snapshot_id"),
    )
    snapshot_id: Mapped[int] = mapped_column(
        ForeignKey("balance_snapshot.id", ondelete="CASCADE"), primary_key=True
    )
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscriber.id", ondelete="CASCADE"), primary_key=True
    )
    amount_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    due_date: Mapped[date]
    last_payment_date: Mapped[date | None]


class BillCheck(Base):
    """A customer asked for their balance (SMS keyword, bot /bill): the evidence
    behind the monthly figures and behind "who learned an amount, and how"."""

    __tablename__ = "bill_check"
    __table_args__ = (
        CheckConstraint(_in("outcome", BILL_CHECK_OUTCOMES), name="outcome"),
        Index("ix_bill_check_at", "at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(16))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="SET NULL")
    )
    snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("balance_snapshot.id", ondelete="SET NULL")
    )
    outcome: Mapped[str] = mapped_column(String(16))


class MeterReading(Base):
    """A meter reading as it came in, by any channel, taken or not (seed 003).

    Exactly one reading per metering point and period is `accepted`; a
    correction inside the window marks the earlier one `replaced`. A refused
    one keeps its `reason` (domain.reading_checks.Reason) and what was typed.
    An operator's row with `meter_change` is a new meter's first reading (no
    period): later readings are compared with it, not with the old meter's.
    The evidence: the channel, the contact or chat or web client (a digest of
    its IP, as sign-ups keep it), the inbound message, and the actor (on
    PostgreSQL the session user, migration 0027)."""

    __tablename__ = "meter_reading"
    __table_args__ = (
        CheckConstraint(_in("channel", READING_CHANNELS), name="channel"),
        CheckConstraint(_in("status", READING_STATES), name="status"),
        CheckConstraint("(status = 'refused') = (reason IS NOT NULL)", name="reason"),
        CheckConstraint(
            "status = 'refused' OR (mp_id IS NOT NULL AND value_wh IS NOT NULL)", name="taken"
        ),
        CheckConstraint("NOT meter_change OR channel = 'operator'", name="meter_change"),
        CheckConstraint("meter_change OR status = 'refused' OR period IS NOT NULL", name="period"),
        # A metering point's readings, newest first (the previous one, the screen).
        Index("ix_meter_reading_mp_received", "mp_id", "received_at"),
        # The export: a utility's accepted readings of a period.
        Index("ix_meter_reading_period", "period", "status"),
        # One accepted reading per metering point and period.
        Index(
            "uq_meter_reading_accepted",
            "mp_id",
            "period",
            unique=True,
            sqlite_where=text("status = 'accepted' AND period IS NOT NULL"),
            postgresql_where=text("status = 'accepted' AND period IS NOT NULL"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    utility_id: Mapped[int | None] = mapped_column(ForeignKey("utility.id", ondelete="CASCADE"))
    subscriber_id: Mapped[int | None] = mapped_column(
        ForeignKey("subscriber.id", ondelete="SET NULL")
    )
    mp_id: Mapped[int | None] = mapped_column(ForeignKey("metering_point.id", ondelete="CASCADE"))
    identifier: Mapped[str] = mapped_column(String(40))
    """The account or metering point id as typed."""
    period: Mapped[str | None] = mapped_column(String(7))
    value_wh: Mapped[int | None] = mapped_column(BigInteger)
    """The reading (the day register's with two), in Wh."""
    night_wh: Mapped[int | None] = mapped_column(BigInteger)
    consumption_wh: Mapped[int | None] = mapped_column(BigInteger)
    """Since the previous accepted reading, over all registers."""
    channel: Mapped[str] = mapped_column(String(16))
    received_at: Mapped[datetime]
    text: Mapped[str] = mapped_column(String(200))
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contact.id", ondelete="SET NULL"))
    chat: Mapped[str | None] = mapped_column(String(64))
    """The phone, the chat id, or for the web "web:" and a digest of the client's IP."""
    inbound_id: Mapped[int | None] = mapped_column(
        ForeignKey("inbound_message.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(24))
    meter_change: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    actor: Mapped[str] = mapped_column(String(64))
