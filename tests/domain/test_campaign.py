"""Campaigns as pure rules: what a draft must be, the lifecycle with four-eyes, the
overdue cutoff, and the reminder texts (account and due date, never an amount)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch_tui.domain import campaign as c
from dispatch_tui.domain.campaign_texts import reminder, text_language
from dispatch_tui.domain.outage import TransitionError
from dispatch_tui.domain.templates import LANGUAGES, local_date

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def draft(**changes: object) -> c.CampaignDraft:
    base = c.CampaignDraft(1, "payment_reminder", ("sms",), NOW + timedelta(hours=1), 10)
    return c.CampaignDraft(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_a_good_draft_has_no_problems() -> None:
    assert c.draft_problems(draft(), NOW) == []
    assert c.draft_problems(draft(kind="reading_reminder", min_days_overdue=None), NOW) == []
    assert c.draft_problems(draft(due_at=NOW - timedelta(seconds=30)), NOW) == [], "grace"


def test_every_problem_is_named() -> None:
    problems = c.draft_problems(
        draft(
            channels=("sms", "sms", "pigeon"), due_at=NOW - timedelta(days=1), min_days_overdue=-1
        ),
        NOW,
    )
    assert problems == [
        "channels: 'pigeon' unknown (one of: sms, email, telegram, viber)",
        "channels: each channel once",
        "due: 2026-11-19 09:00 UTC is in the past",
        "days overdue: -1 is not between 1 and 3650",
    ]
    assert c.draft_problems(draft(min_days_overdue=True), NOW) == [
        "days overdue: a whole number of days (at least 1)"
    ]


def test_lifecycle_with_four_eyes() -> None:
    state = c.CampaignState(c.CampaignStatus.DRAFT, "ana")
    with pytest.raises(TransitionError, match="only its author submits"):
        c.submit(state, "bohdan")
    submitted = c.submit(state, "ana")
    with pytest.raises(TransitionError, match="four-eyes"):
        c.approve(submitted, "ana")
    approved = c.approve(submitted, "bohdan")
    assert (approved.status, approved.approved_by) == (c.CampaignStatus.APPROVED, "bohdan")
    with pytest.raises(TransitionError, match="only a submitted campaign is approved"):
        c.approve(approved, "olena")
    done = c.CampaignState(c.CampaignStatus.DONE, "ana", "bohdan")
    with pytest.raises(TransitionError, match="nothing left to cancel"):
        c.cancel(done)
    assert c.cancel(approved).status is c.CampaignStatus.CANCELLED


@given(st.dates(min_value=date(2001, 1, 1)), st.integers(min_value=1, max_value=3650))
def test_overdue_by_n_days_means_due_n_days_ago(today: date, days: int) -> None:
    cutoff = c.overdue_cutoff(today, days)
    assert (today - cutoff).days == days


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(c.CampaignKind))
@pytest.mark.parametrize("channel", ["sms", "email", "telegram"])
def test_every_text_names_the_account_and_date(language: str, kind: str, channel: str) -> None:
    text = reminder(
        kind,
        language,
        channel,
        due=date(2026, 11, 5),
        contact_phone="0700 10 010",
        utility_name="Електрохолд",
    )
    body = text.body("300000000001")
    assert "300000000001" in body and "0700 10 010" in body
    assert local_date(date(2026, 11, 5), language, short=channel != "email") in body
    assert (text.subject is not None) == (channel == "email")
    if channel == "sms":
        assert text.segments(12) <= 3


def test_a_language_without_texts_falls_back() -> None:
    assert text_language("de", "bg") == "bg"
    assert text_language("de", "hu") == "en"
    assert text_language("sl", "bg") == "sl"
