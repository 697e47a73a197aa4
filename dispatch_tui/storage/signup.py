"""Web sign-up by confirmation code (seeds 000, 002, 004), for the public web.

`start_signup` checks the proof exactly like the chat bot (meter number or
EIC tail; `storage.bot_chats`: 5 wrong proofs per account in 24 h across
bot, SMS and web, then the account is locked for self-service) and sends a
6-digit code to each address given, through the outbox: the request is
stored as an inbound row (receiver "web") and the code messages answer it,
so the engine sends them like any reply. Nothing is activated until the
code comes back (`confirm_signup`); then the address becomes an opted-in,
proven contact of the account (scoped to the metering point when the
sign-up named one), with its consent source and time, audited.

Who may learn what: an unknown account and a wrong proof get the same
answer and cost the same work (a lookup, a comparison, a counted failure),
so the form does not tell whether an account exists. Rate limits count
`signup_attempt` rows per IP, per phone or e-mail address and per account;
IPs and addresses are kept there only as digests.

On PostgreSQL the public web runs as a member of `dispatch_web` (migrations
0019, 0021), which may not create contacts: its confirmations stay
`confirmed` and the engine activates them within seconds
(`activate_confirmed`). Nor may it read accounts, meter numbers, EICs or
sign-up addresses: the proof check, its budget and a pending sign-up's
address come from SECURITY DEFINER functions that answer about the one
account or token they are given (SQLite, one trust domain, reads the
tables).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Engine, func, insert, select, text, update

from dispatch_tui.domain import signup_codes as codes
from dispatch_tui.domain import sms
from dispatch_tui.domain.bot_dialogue import Account, ProofBudget, proof_matches
from dispatch_tui.domain.identifiers import InvalidIdentifier, parse_email, parse_phone, scheme_for
from dispatch_tui.domain.languages import LANGUAGES
from dispatch_tui.storage import audit, counts
from dispatch_tui.storage.bot_chats import (
    account_of,
    proof_budget,
    record_proof_failure,
)
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.helplines import helpline_for
from dispatch_tui.storage.tables import (
    contact,
    contact_scope,
    inbound_message,
    message,
    metering_point,
    signup,
    signup_attempt,
    subscriber,
    subscription,
    utility,
)

__all__ = [
    "ConfirmResult",
    "ConfirmStatus",
    "PendingCode",
    "SignupInputError",
    "SignupLimits",
    "SignupRequest",
    "StartResult",
    "StartStatus",
    "activate_confirmed",
    "confirm_signup",
    "resend_code",
    "start_signup",
]

CHANNELS = ("sms", "email")
WEB = "web"
"""The receiver of a sign-up's stored request: what the outbox recognises its codes by."""


class SignupInputError(ValueError):
    """A form field is not acceptable; `field` names it, `str()` says why (nothing changed)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class SignupLimits:
    """Rate limits; `per_ip_hour` counts starts, `codes_per_address_*` codes sent to one
    phone or e-mail address, `per_account_hour` starts naming one account,
    `confirms_per_ip_hour` codes entered (on top of each code's own 5 tries)."""

    per_ip_hour: int = 10
    codes_per_address_hour: int = 3
    codes_per_address_day: int = 6
    per_account_hour: int = 5
    confirms_per_ip_hour: int = 30


@dataclass(frozen=True)
class SignupRequest:
    """What the form asks: utility code, metering point id or account number, proof,
    phone and/or e-mail, the channels wanted (each needs its address), language."""

    utility: str
    identifier: str
    proof: str
    phone: str = ""
    email: str = ""
    channels: tuple[str, ...] = ()
    language: str = ""


@dataclass(frozen=True)
class PendingCode:
    """A code sent: the page keeps `token` (secret, in the form) and shows `shown_to`."""

    token: str
    channel: str
    shown_to: str


class StartStatus(StrEnum):
    CODE_SENT = "code_sent"
    NO_MATCH = "no_match"
    """Unknown account or wrong proof: the same answer for both."""
    LOCKED = "locked"
    """Too many wrong proofs for the account or from this IP: call `helpline`."""
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class StartResult:
    status: StartStatus
    pending: tuple[PendingCode, ...] = ()
    attempts_left: int = 0
    helpline: str = ""
    limit: str = ""
    """For RATE_LIMITED: which limit ("ip", "address" or "account")."""


class ConfirmStatus(StrEnum):
    ACTIVE = "active"
    """Confirmed and the contact is opted in."""
    CONFIRMED = "confirmed"
    """Confirmed; the engine activates it within seconds (PostgreSQL web role)."""
    WRONG_CODE = "wrong_code"
    EXPIRED = "expired"
    SPENT = "spent"
    """Five wrong codes: ask for a new one."""
    UNKNOWN = "unknown"
    """No sign-up has this token."""
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class ConfirmResult:
    status: ConfirmStatus
    tries_left: int = 0
    detail: dict[str, Any] = field(default_factory=dict)


# --- input ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Checked:
    utility_id: int
    utility_name: str
    sms_sender: str
    identifier: str
    by_metering_point: bool
    addresses: tuple[tuple[str, str], ...]
    """(channel, address) to send codes to."""
    language: str


@dataclass(frozen=True)
class _Sender:
    """What a code message says and who it is from."""

    utility_name: str
    sms_sender: str
    language: str


def _utility(conn: Connection, code: str) -> Any:
    row = conn.execute(
        select(
            utility.c.id,
            utility.c.name,
            utility.c.country,
            utility.c.language,
            utility.c.sms_sender,
        ).where(utility.c.code == code.strip())
    ).first()
    if row is None:
        raise SignupInputError("utility", f"unknown utility {code.strip()[:32]!r}")
    return row


def _check(conn: Connection, request: SignupRequest) -> _Checked:
    """The request read and validated, or SignupInputError naming the field."""
    util = _utility(conn, request.utility)
    identifier, by_mp = read_identifier(util.country, request.identifier, request.proof)
    channels = tuple(dict.fromkeys(request.channels))
    unknown = [c for c in channels if c not in CHANNELS]
    if unknown or not channels:
        raise SignupInputError("channels", "choose SMS, e-mail or both")
    addresses: list[tuple[str, str]] = []
    if request.phone.strip() and "sms" not in channels:
        raise SignupInputError("phone", "a phone number was given but SMS was not chosen")
    if request.email.strip() and "email" not in channels:
        raise SignupInputError("email", "an e-mail address was given but e-mail was not chosen")
    if "sms" in channels:
        try:
            addresses.append(("sms", parse_phone(request.phone, util.country, mobile_only=True)))
        except InvalidIdentifier as exc:
            raise SignupInputError("phone", str(exc)) from None
    if "email" in channels:
        try:
            address = parse_email(request.email)
        except InvalidIdentifier as exc:
            raise SignupInputError("email", str(exc)) from None
        if len(address) > 320:
            raise SignupInputError("email", "the e-mail address is too long")
        addresses.append(("email", address))
    language = request.language.strip() or util.language
    if language not in LANGUAGES:
        raise SignupInputError("language", f"language must be one of {', '.join(LANGUAGES)}")
    return _Checked(
        util.id,
        util.name,
        util.sms_sender,
        identifier,
        by_mp,
        tuple(addresses),
        language,
    )


def read_identifier(country: str, raw: str, proof: str) -> tuple[str, bool]:
    """(identifier, whether it is a metering point id) as a form names an account,
    checked with its proof's presence; SignupInputError names the field. The web's
    reading form asks the same (storage.reading_web)."""
    scheme = scheme_for(country)
    raw = raw.strip()
    if not raw:
        raise SignupInputError("identifier", "give your metering point id or account number")
    by_mp = True
    try:
        identifier = scheme.metering_point(raw)
    except InvalidIdentifier:
        by_mp = False
        try:
            identifier = scheme.account(raw)
        except InvalidIdentifier:
            raise SignupInputError(
                "identifier",
                f"{raw[:40]!r} is neither a metering point id (like "
                f"{scheme.metering_point_example}) nor an account number (like "
                f"{scheme.account_example})",
            ) from None
    if country == "UA":
        by_mp = False  # the personal account is both; it names the account
    if not proof.strip():
        raise SignupInputError("proof", "give the meter number or the last 5 characters of the EIC")
    if len(proof) > 64:
        raise SignupInputError("proof", "the proof is at most 64 characters")
    return identifier, by_mp


def _key(value: str) -> str:
    """What signup_attempt keeps of an IP or address: a digest, enough to count by."""
    return hashlib.sha256(f"dispatch-tui signup {value}".encode()).hexdigest()


# --- counting -------------------------------------------------------------------------


def _count(conn: Connection, kind: str, since: datetime, **where: str) -> int:
    query = select(func.count()).where(
        signup_attempt.c.kind == kind,
        signup_attempt.c.at > since,
        *(signup_attempt.c[k] == v for k, v in where.items()),
    )
    return int(conn.execute(query).scalar_one())


def _attempt(
    conn: Connection,
    kind: str,
    now: datetime,
    ip_key: str,
    *,
    address_key: str | None = None,
    account: str | None = None,
) -> None:
    conn.execute(
        insert(signup_attempt).values(
            at=now, kind=kind, ip_key=ip_key, address_key=address_key, account=account
        )
    )


def _address_limited(conn: Connection, address: str, now: datetime, limits: SignupLimits) -> bool:
    key = _key(address)
    return (
        _count(conn, "code", now - timedelta(hours=1), address_key=key)
        >= limits.codes_per_address_hour
        or _count(conn, "code", now - timedelta(days=1), address_key=key)
        >= limits.codes_per_address_day
    )


# --- the account and its proof ---------------------------------------------------------


def _targets(conn: Connection, checked: _Checked) -> list[tuple[int, int | None]]:
    """(subscriber, metering point or None) the identifier names in the utility."""
    if checked.by_metering_point:
        rows = conn.execute(
            select(subscription.c.subscriber_id, metering_point.c.id)
            .join(metering_point, metering_point.c.id == subscription.c.mp_id)
            .where(
                metering_point.c.utility_id == checked.utility_id,
                metering_point.c.mp_id == checked.identifier,
            )
            .order_by(subscription.c.subscriber_id)
        ).all()
        return [(int(r[0]), int(r[1])) for r in rows]
    rows = conn.execute(
        select(subscriber.c.id).where(
            subscriber.c.utility_id == checked.utility_id,
            subscriber.c.account == checked.identifier,
        )
    ).all()
    return [(int(r[0]), None) for r in rows]


def _proven(
    conn: Connection, checked: _Checked, targets: list[tuple[int, int | None]], proof: str
) -> list[tuple[int, int | None]]:
    """The targets the proof matches. An unknown identifier is compared against an
    empty account read by the same query, so both cost the same."""
    if not targets:
        proof_matches(account_of(conn, -1, checked.identifier), proof)
        return []
    matched = []
    for sid, mp in targets:
        account = account_of(conn, sid, checked.identifier)
        if mp is not None:
            account = _only_metering_point(conn, account, mp)
        if proof_matches(account, proof):
            matched.append((sid, mp))
    return matched


def _proof_budget(
    conn: Connection, channel: str, chat: str, account: str, now: datetime
) -> ProofBudget:
    """The bot's proof budget; on PostgreSQL through the function the web may call
    (migration 0021), as the web may not read accounts or proof failures."""
    if conn.dialect.name != "postgresql":
        return proof_budget(conn, channel=channel, chat=chat, account=account, now=now)
    row = conn.execute(
        text("SELECT * FROM dispatch_web_proof_budget(:channel, :chat, :account)"),
        {"channel": channel, "chat": chat, "account": account},
    ).one()
    fallback = helpline_for(conn, account)  # read either way: an unknown account costs the same
    return ProofBudget(int(row.attempts_left), row.helpline or fallback)


def _prove(
    conn: Connection, checked: _Checked, proof: str, channel: str, chat: str, now: datetime
) -> list[tuple[int, int | None]]:
    """The (subscriber, metering point) the identifier and proof name; a proof that
    matches nothing is counted against the account's budget. On PostgreSQL the
    function `dispatch_web_prove` does both, so the web never reads a meter number,
    an EIC or an account (migration 0021)."""
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT subscriber_id, mp_id FROM dispatch_web_prove("
                ":utility, :identifier, :by_mp, :proof, :channel, :chat)"
            ),
            {
                "utility": checked.utility_id,
                "identifier": checked.identifier,
                "by_mp": checked.by_metering_point,
                "proof": proof,
                "channel": channel,
                "chat": chat,
            },
        ).all()
        return [(int(r.subscriber_id), None if r.mp_id is None else int(r.mp_id)) for r in rows]
    matched = _proven(conn, checked, _targets(conn, checked), proof)
    if not matched:
        record_proof_failure(conn, channel=channel, chat=chat, account=checked.identifier, now=now)
    return matched


def _only_metering_point(conn: Connection, account: Account, mp: int) -> Account:
    """A sign-up by metering point is proven by that point's own meter or EIC."""
    row = conn.execute(
        select(metering_point.c.meter_number, metering_point.c.eic).where(metering_point.c.id == mp)
    ).one()
    return Account(
        account.number,
        frozenset([row.meter_number] if row.meter_number else []),
        frozenset([row.eic[-5:]] if row.eic else []),
        (),
    )


# --- start ----------------------------------------------------------------------------


def _issue(
    conn: Connection,
    sender: _Sender,
    signup_id: int,
    token: str,
    channel: str,
    address: str,
    inbound_id: int,
    now: datetime,
) -> None:
    """A new code for the sign-up: stored as its digest, sent as a reply to its request."""
    code = codes.new_code()
    conn.execute(
        update(signup)
        .where(signup.c.id == signup_id)
        .values(code_hash=codes.code_digest(token, code), code_issued_at=now, wrong_tries=0)
    )
    subject, body = codes.code_message(sender.language, code, sender.utility_name)
    conn.execute(
        insert(message).values(
            notice_id=None,
            inbound_id=inbound_id,
            contact_id=None,
            channel=channel,
            address=address,
            language=sender.language,
            sender=sender.sms_sender if channel == "sms" else None,
            subject=subject if channel == "email" else None,
            body=body,
            segments=sms.analyse(body).segments if channel == "sms" else 1,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            expires_at=now + codes.CODE_TTL,
            created_at=now,
        )
    )


def _request_row(conn: Connection, channel: str, address: str, outcome: str, now: datetime) -> int:
    return int(
        conn.execute(
            insert(inbound_message)
            .values(
                received_at=now,
                channel=channel,
                sender=address,
                receiver=WEB,
                text="web sign-up",
                outcome=outcome,
                replied=True,
            )
            .returning(inbound_message.c.id)
        ).scalar_one()
    )


def start_signup(
    engine: Engine,
    request: SignupRequest,
    *,
    ip: str,
    now: datetime | None = None,
    limits: SignupLimits = SignupLimits(),
) -> StartResult:
    """Check the proof and send a code to each address; see the module docstring.

    Raises SignupInputError (nothing changed) for a bad field.
    """
    now = now or datetime.now(UTC)
    with write_transaction(engine) as conn:
        checked = _check(conn, request)
    ip_key = _key(ip)
    chat = f"web:{ip_key[:32]}"
    first_channel = checked.addresses[0][0]
    with write_transaction(engine) as conn:
        hour = now - timedelta(hours=1)
        over_ip = _count(conn, "start", hour, ip_key=ip_key) >= limits.per_ip_hour
        over_account = (
            _count(conn, "start", hour, account=checked.identifier) >= limits.per_account_hour
        )
        _attempt(conn, "start", now, ip_key, account=checked.identifier)
        if over_ip:
            return StartResult(StartStatus.RATE_LIMITED, limit="ip")
        budget = _proof_budget(conn, first_channel, chat, checked.identifier, now)
        if budget.left <= 0:
            return StartResult(StartStatus.LOCKED, helpline=budget.helpline)
        if over_account:
            return StartResult(StartStatus.RATE_LIMITED, limit="account")
        if any(_address_limited(conn, a, now, limits) for _c, a in checked.addresses):
            return StartResult(StartStatus.RATE_LIMITED, limit="address")
        matched = _prove(conn, checked, request.proof, first_channel, chat, now)
        if not matched:
            if budget.left <= 1:
                return StartResult(StartStatus.LOCKED, helpline=budget.helpline)
            return StartResult(StartStatus.NO_MATCH, attempts_left=budget.left - 1)
        sid, mp = matched[0]
        pending = []
        for channel, address in checked.addresses:
            token = codes.new_token()
            inbound_id = _request_row(conn, channel, address, "web sign-up: code sent", now)
            signup_id = conn.execute(
                insert(signup)
                .values(
                    token_hash=codes.token_digest(token),
                    utility_id=checked.utility_id,
                    subscriber_id=sid,
                    mp_id=mp,
                    identifier=checked.identifier,
                    channel=channel,
                    address=address,
                    language=checked.language,
                    status="pending",
                    code_hash="",
                    code_issued_at=now,
                    wrong_tries=0,
                    inbound_id=inbound_id,
                    created_at=now,
                )
                .returning(signup.c.id)
            ).scalar_one()
            sender = _Sender(checked.utility_name, checked.sms_sender, checked.language)
            _issue(conn, sender, signup_id, token, channel, address, inbound_id, now)
            _attempt(conn, "code", now, ip_key, address_key=_key(address))
            pending.append(PendingCode(token, channel, codes.mask_address(channel, address)))
    return StartResult(StartStatus.CODE_SENT, tuple(pending))


def _by_token(conn: Connection, token: str) -> Any:
    """The sign-up `token` names, locked; only the columns the web role may read."""
    return conn.execute(
        select(
            signup.c.id,
            signup.c.token_hash,
            signup.c.utility_id,
            signup.c.channel,
            signup.c.language,
            signup.c.status,
            signup.c.code_hash,
            signup.c.code_issued_at,
            signup.c.wrong_tries,
            signup.c.inbound_id,
        )
        .where(signup.c.token_hash == codes.token_digest(token))
        .with_for_update()
    ).first()


def _pending_address(conn: Connection, token_hash: str) -> str | None:
    """A pending sign-up's address; on PostgreSQL through the function the web may call
    (migration 0021), which answers only for the token's own sign-up."""
    if conn.dialect.name == "postgresql":
        query = text("SELECT dispatch_web_signup_address(:hash)").bindparams(hash=token_hash)
        return conn.execute(query).scalar()
    return conn.execute(
        select(signup.c.address).where(
            signup.c.token_hash == token_hash, signup.c.status == "pending"
        )
    ).scalar()


def resend_code(
    engine: Engine,
    token: str,
    *,
    ip: str,
    now: datetime | None = None,
    limits: SignupLimits = SignupLimits(),
) -> StartResult:
    """A new code for a pending sign-up (the old one stops working), within the
    per-address limits. An unknown or finished sign-up gets NO_MATCH."""
    now = now or datetime.now(UTC)
    ip_key = _key(ip)
    with write_transaction(engine) as conn:
        row = _by_token(conn, token)
        if row is None or row.status != "pending":
            return StartResult(StartStatus.NO_MATCH)
        address = _pending_address(conn, row.token_hash)
        if address is None:
            return StartResult(StartStatus.NO_MATCH)
        if _address_limited(conn, address, now, limits):
            return StartResult(StartStatus.RATE_LIMITED, limit="address")
        util = conn.execute(
            select(utility.c.name, utility.c.sms_sender).where(utility.c.id == row.utility_id)
        ).one()
        sender = _Sender(util.name, util.sms_sender, row.language)
        _issue(conn, sender, row.id, token, row.channel, address, row.inbound_id, now)
        _attempt(conn, "code", now, ip_key, address_key=_key(address))
    return StartResult(
        StartStatus.CODE_SENT,
        (PendingCode(token, row.channel, codes.mask_address(row.channel, address)),),
    )


# --- confirm and activate -------------------------------------------------------------


def may_activate(conn: Connection) -> bool:
    """Whether this session may create contacts: always on SQLite (one trust domain);
    on PostgreSQL the engine's role or the tables' owner, not the web's."""
    if conn.dialect.name != "postgresql":
        return True
    return bool(
        conn.execute(
            text("SELECT dispatch_is_engine() OR dispatch_trusted('contact'::regclass)")
        ).scalar_one()
    )


def confirm_signup(
    engine: Engine,
    token: str,
    code: str,
    *,
    ip: str,
    actor: str,
    now: datetime | None = None,
    limits: SignupLimits = SignupLimits(),
) -> ConfirmResult:
    """Check the code the person typed for the sign-up `token` names; the right one
    activates it (or leaves it for the engine, see `ConfirmStatus.CONFIRMED`).

    Raises SignupInputError("code") when `code` is not six digits (no try used).
    `actor` is who the audit row names (the web process's login).
    """
    entered = codes.read_code(code)
    if entered is None:
        raise SignupInputError("code", "the code is the 6 digits we sent you")
    now = now or datetime.now(UTC)
    ip_key = _key(ip)
    with write_transaction(engine) as conn:
        limited = (
            _count(conn, "confirm", now - timedelta(hours=1), ip_key=ip_key)
            >= limits.confirms_per_ip_hour
        )
        _attempt(conn, "confirm", now, ip_key)
        if limited:
            return ConfirmResult(ConfirmStatus.RATE_LIMITED)
        row = _by_token(conn, token)
        if row is None:
            return ConfirmResult(ConfirmStatus.UNKNOWN)
        if row.status == "active":
            return ConfirmResult(ConfirmStatus.ACTIVE)
        if row.status == "confirmed":
            return ConfirmResult(ConfirmStatus.CONFIRMED)
        state = codes.CodeState(row.code_issued_at, row.wrong_tries)
        verdict = codes.check(state, now)
        if verdict is codes.CodeCheck.SPENT:
            return ConfirmResult(ConfirmStatus.SPENT)
        if verdict is codes.CodeCheck.EXPIRED:
            return ConfirmResult(ConfirmStatus.EXPIRED)
        if not codes.matches(token, entered, row.code_hash):
            tries = row.wrong_tries + 1
            conn.execute(update(signup).where(signup.c.id == row.id).values(wrong_tries=tries))
            left = codes.CodeState(row.code_issued_at, tries).tries_left
            if left == 0:
                return ConfirmResult(ConfirmStatus.SPENT)
            return ConfirmResult(ConfirmStatus.WRONG_CODE, tries_left=left)
        conn.execute(
            update(signup).where(signup.c.id == row.id).values(status="confirmed", confirmed_at=now)
        )
        if not may_activate(conn):
            return ConfirmResult(ConfirmStatus.CONFIRMED)
        detail = _activate(conn, int(row.id), actor=actor, now=now)
    return ConfirmResult(ConfirmStatus.ACTIVE, detail=detail)


def _link(conn: Connection, row: Any, source: str, now: datetime) -> int:
    """The address becomes an opted-in, proven contact of the subscriber; a sign-up by
    metering point adds that point to the contact's scope (a contact already covering
    the whole account keeps doing so)."""
    existing = conn.execute(
        select(contact.c.id, contact.c.consent).where(
            contact.c.subscriber_id == row.subscriber_id,
            contact.c.channel == row.channel,
            contact.c.address == row.address,
        )
    ).first()
    values = {"consent": "opted_in", "consent_at": now, "consent_source": source, "proven": True}
    if existing is None:
        contact_id = int(
            conn.execute(
                insert(contact)
                .values(
                    subscriber_id=row.subscriber_id,
                    channel=row.channel,
                    address=row.address,
                    **values,
                )
                .returning(contact.c.id)
            ).scalar_one()
        )
        if row.mp_id is not None:
            conn.execute(insert(contact_scope).values(contact_id=contact_id, mp_id=row.mp_id))
        return contact_id
    contact_id = int(existing.id)
    scope = set(
        conn.scalars(select(contact_scope.c.mp_id).where(contact_scope.c.contact_id == contact_id))
    )
    if row.mp_id is None and scope:
        conn.execute(contact_scope.delete().where(contact_scope.c.contact_id == contact_id))
    elif row.mp_id is not None and scope and row.mp_id not in scope:
        if existing.consent != "opted_in":
            # Coming back after leaving names only this place, not what was left.
            conn.execute(contact_scope.delete().where(contact_scope.c.contact_id == contact_id))
        conn.execute(insert(contact_scope).values(contact_id=contact_id, mp_id=row.mp_id))
    elif row.mp_id is not None and not scope and existing.consent != "opted_in":
        conn.execute(insert(contact_scope).values(contact_id=contact_id, mp_id=row.mp_id))
    conn.execute(update(contact).where(contact.c.id == contact_id).values(**values))
    return contact_id


def _activate(conn: Connection, signup_id: int, *, actor: str, now: datetime) -> dict[str, Any]:
    row = conn.execute(
        select(
            signup.c.id,
            signup.c.subscriber_id,
            signup.c.mp_id,
            signup.c.identifier,
            signup.c.channel,
            signup.c.address,
            signup.c.confirmed_at,
        ).where(signup.c.id == signup_id, signup.c.status == "confirmed")
    ).first()
    if row is None:
        return {}
    confirmed = row.confirmed_at or now
    source = f"web sign-up {row.identifier}, code confirmed {confirmed:%Y-%m-%d %H:%M} UTC"
    with counts.contacts_changing(conn, [row.subscriber_id]):
        contact_id = _link(conn, row, source, now)
    conn.execute(
        update(signup)
        .where(signup.c.id == signup_id)
        .values(status="active", activated_at=now, contact_id=contact_id)
    )
    detail = {
        "signup": int(row.id),
        "identifier": row.identifier,
        "channel": row.channel,
        "contact": contact_id,
        "confirmed_at": confirmed.isoformat(),
    }
    audit.append(
        conn,
        actor=actor,
        action="web_signup",
        entity="subscriber",
        entity_id=int(row.subscriber_id),
        detail=detail,
        at=now,
    )
    return detail


def activate_confirmed(engine: Engine, *, actor: str, now: datetime | None = None) -> int:
    """Activate sign-ups confirmed by a session that may not (the engine's job on
    PostgreSQL); returns how many. Nothing to do and cheap when none wait."""
    now = now or datetime.now(UTC)
    with engine.connect() as conn:
        waiting: Sequence[int] = list(
            conn.scalars(select(signup.c.id).where(signup.c.status == "confirmed").limit(500))
        )
    if not waiting:
        return 0
    done = 0
    with write_transaction(engine) as conn:
        for signup_id in waiting:
            done += bool(_activate(conn, signup_id, actor=actor, now=now))
    return done
