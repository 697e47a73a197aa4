"""A meter reading from the public web form (seed 003: "without registration"):
account, proof and the numbers, taken by storage.readings like any reading.

The proof is the sign-up's (storage.signup): the same identifier rules, the
same budget of wrong proofs across bot, SMS and web, the same per-IP and
per-account rate limits (counted as the sign-up's starts), and on PostgreSQL
the same `dispatch_web_prove`, whose mark in this transaction is what lets
the web's role store a reading naming the account (migration 0027). An
unknown account and a wrong proof get the same answer and leave the same
trace: a refused reading naming nobody. The meter number (or EIC tail) given
as proof says which of an account's metering points the reading is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy import Engine

from dispatch_tui.domain.languages import LANGUAGES
from dispatch_tui.storage import signup
from dispatch_tui.storage.db import write_transaction
from dispatch_tui.storage.readings import Intake, IntakeResult, submit_reading

__all__ = ["WebReading", "WebReadingResult", "WebReadingStatus", "submit_web_reading"]

PROOF_CHANNEL = "sms"
"""What the web's wrong proofs count as (proof_failure's channel; the chat says "web:")."""


@dataclass(frozen=True)
class WebReading:
    utility: str
    identifier: str
    proof: str
    reading: str
    night: str = ""
    language: str = ""


class WebReadingStatus(StrEnum):
    TAKEN = "taken"
    """Checked and stored: `intake` says whether accepted, and the answer."""
    NO_MATCH = "no_match"
    LOCKED = "locked"
    RATE_LIMITED = "rate_limited"


@dataclass(frozen=True)
class WebReadingResult:
    status: WebReadingStatus
    intake: IntakeResult | None = None
    attempts_left: int = 0
    helpline: str = ""
    limit: str = ""


def submit_web_reading(
    engine: Engine,
    form: WebReading,
    *,
    ip: str,
    now: datetime | None = None,
    limits: signup.SignupLimits | None = None,
) -> WebReadingResult:
    """Check the proof and take the reading; SignupInputError names a bad field
    (nothing changed)."""
    now = now or datetime.now(UTC)
    limits = limits or signup.SignupLimits()
    if not form.reading.strip():
        raise signup.SignupInputError("reading", "give the meter reading")
    language = form.language.strip()
    ip_key = signup._key(ip)
    chat = f"web:{ip_key[:32]}"
    values = form.reading.strip() + (f" / {form.night.strip()}" if form.night.strip() else "")
    with write_transaction(engine) as conn:
        util = signup._utility(conn, form.utility)
        identifier, by_mp = signup.read_identifier(util.country, form.identifier, form.proof)
        language = language if language in LANGUAGES else util.language
        checked = signup._Checked(
            util.id, util.name, util.sms_sender, identifier, by_mp, (), language
        )
        hour = now - timedelta(hours=1)
        over_ip = signup._count(conn, "start", hour, ip_key=ip_key) >= limits.per_ip_hour
        over_account = signup._count(conn, "start", hour, account=identifier) >= (
            limits.per_account_hour
        )
        signup._attempt(conn, "start", now, ip_key, account=identifier)
        if over_ip:
            return WebReadingResult(WebReadingStatus.RATE_LIMITED, limit="ip")
        budget = signup._proof_budget(conn, PROOF_CHANNEL, chat, identifier, now)
        if budget.left <= 0:
            return WebReadingResult(WebReadingStatus.LOCKED, helpline=budget.helpline)
        if over_account:
            return WebReadingResult(WebReadingStatus.RATE_LIMITED, limit="account")
        matched = signup._prove(conn, checked, form.proof, PROOF_CHANNEL, chat, now)
        intake = Intake(
            "web",
            identifier,
            values,
            values,
            chat,
            language,
            utility_id=util.id,
            proven=tuple(matched),
            proof=form.proof,
        )
        taken = submit_reading(conn, intake, now=now)
        if not matched:
            if budget.left <= 1:
                return WebReadingResult(WebReadingStatus.LOCKED, helpline=budget.helpline)
            return WebReadingResult(WebReadingStatus.NO_MATCH, attempts_left=budget.left - 1)
    return WebReadingResult(WebReadingStatus.TAKEN, taken)
