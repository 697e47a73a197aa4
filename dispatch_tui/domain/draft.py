"""One check of an outage draft against its utility's rules and the clock.

The form, the preview and every storage write (save, submit, approve) ask
this one function, so a rule cannot live only in a screen: an outage longer
than the utility allows, or one whose start has passed, is refused however
it reaches the database. Lead-time shortfalls and quiet-hour drops are
warnings: a shift lead may approve despite them, and storage records that
the approver saw them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from dispatch_tui.domain.languages import LANGUAGES
from dispatch_tui.domain.notice_plan import quiet_hours_problem
from dispatch_tui.domain.outage import validate_window
from dispatch_tui.domain.rules import NoticeRules, lead_time_problem
from dispatch_tui.domain.selection import Selection

CHANNELS = ("sms", "email", "telegram", "viber")
NOTICE_KINDS = ("advance", "day_before", "day_of")
MAX_TITLE = 200
MAX_REASON = 2000


@dataclass(frozen=True)
class OutageDraft:
    """What the drafting form produces."""

    utility_id: int
    title: str
    reason: str
    starts_at: datetime
    ends_at: datetime
    selection: Selection
    urgent: bool = False
    channels: tuple[str, ...] = CHANNELS
    notice_kinds: tuple[str, ...] = NOTICE_KINDS
    transliterate: bool = False
    texts: dict[str, str] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)
    """The reason in other languages than the utility's; `reason` is the fallback."""


@dataclass(frozen=True)
class Verdict:
    """``problems`` block saving, submitting and approving; ``warnings`` need a reader."""

    problems: tuple[str, ...]
    warnings: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def _content_problems(draft: OutageDraft) -> list[str]:
    problems = []
    if not draft.title.strip() or len(draft.title) > MAX_TITLE:
        problems.append(f"give a title (1 to {MAX_TITLE} characters)")
    if not draft.reason.strip() or len(draft.reason) > MAX_REASON:
        problems.append(f"give the reason customers will read (1 to {MAX_REASON} characters)")
    for language, text in sorted(draft.reasons.items()):
        if language not in LANGUAGES:
            problems.append(f"reason in unknown language {language!r}")
        elif len(text) > MAX_REASON:
            problems.append(f"the {language} reason is longer than {MAX_REASON} characters")
    if draft.selection.is_empty:
        problems.append("select at least one network node or metering point")
    if not draft.channels or set(draft.channels) - set(CHANNELS):
        problems.append(f"choose one or more channels ({', '.join(CHANNELS)})")
    if set(draft.notice_kinds) - set(NOTICE_KINDS):
        problems.append("unknown notice in the plan")
    return problems


def check_draft(
    draft: OutageDraft, rules: NoticeRules, tz: ZoneInfo | str, now: datetime
) -> Verdict:
    """Problems (content, window order, start in the past, duration limit) and
    warnings (lead time, a messaging notice dropped for quiet hours)."""
    problems = _content_problems(draft)
    if draft.starts_at.tzinfo is None or draft.ends_at.tzinfo is None:
        return Verdict((*problems, "times must carry a time zone"), ())
    problems += validate_window(draft.starts_at, draft.ends_at, now, rules, tz=tz)
    warnings: list[str] = []
    if draft.starts_at > now and draft.ends_at > draft.starts_at:
        for warning in (
            lead_time_problem(rules, now, draft.starts_at, tz),
            quiet_hours_problem(draft.starts_at, draft.ends_at, tz, rules, now, draft.urgent),
        ):
            if warning:
                warnings.append(warning)
    return Verdict(tuple(problems), tuple(warnings))


def content_digest(draft: OutageDraft, revision: int) -> str:
    """A fingerprint of everything customers will read and who is affected.

    The approver's preview carries it and approval names it: an author who
    withdraws, edits and resubmits between the preview and the key press
    changes the digest (the revision alone would not change), and storage
    refuses with "changed since you opened it".
    """
    canonical = {
        "revision": revision,
        "utility": draft.utility_id,
        "title": draft.title.strip(),
        "reason": draft.reason.strip(),
        "starts_at": draft.starts_at.astimezone(UTC).isoformat(),
        "ends_at": draft.ends_at.astimezone(UTC).isoformat(),
        "urgent": draft.urgent,
        "channels": sorted(draft.channels),
        "kinds": sorted(draft.notice_kinds),
        "transliterate": draft.transliterate,
        "texts": {k: v for k, v in sorted(draft.texts.items()) if v.strip()},
        "reasons": {k: v.strip() for k, v in sorted(draft.reasons.items()) if v.strip()},
        "nodes": sorted(draft.selection.nodes),
        "mps": sorted(draft.selection.metering_points),
        "excluded_nodes": sorted(draft.selection.excluded_nodes),
        "excluded_mps": sorted(draft.selection.excluded_metering_points),
    }
    text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def check_window(
    starts_at: datetime,
    ends_at: datetime,
    rules: NoticeRules,
    tz: ZoneInfo | str,
    *,
    under_way: bool,
    now: datetime,
) -> list[str]:
    """What blocks an amended window: the duration limit always; a start in the
    past unless the outage is already under way and keeps its start."""
    return validate_window(starts_at, ends_at, now, rules, tz=tz, start_may_be_past=under_way)
