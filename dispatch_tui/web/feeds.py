"""The listing as feeds: JSON (versioned schema), iCalendar per settlement, Atom with CAP 1.2.

Each builder is a function of the utility, its public works, the site's base
URL and the moment of the listing, and returns bytes: the same works give
the same bytes, so ETags stay put between refreshes. Identifiers are stable:
an outage keeps its iCalendar UID and CAP identifier stem for life, and a
change raises the iCalendar SEQUENCE (`PublicWork.sequence`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from importlib import resources
from typing import Any, Final
from urllib.parse import quote, urlsplit
from xml.sax.saxutils import escape

from icalendar import Calendar, Event

from dispatch_tui.domain.public_works import (
    PublicUtility,
    PublicWork,
    in_settlement,
    streets,
)
from dispatch_tui.domain.templates import local_window
from dispatch_tui.web import i18n

JSON_VERSION: Final = 1
JSON_SCHEMA_FILE: Final = "planned-works-1.schema.json"
CAP_NS: Final = "urn:oasis:names:tc:emergency:cap:1.2"
PRODID: Final = "-//dispatch-tui//planned works//EN"
EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)


def json_schema() -> bytes:
    """The JSON Schema of the JSON feed, shipped in the package and served beside it."""
    return (resources.files("dispatch_tui.web") / "schema" / JSON_SCHEMA_FILE).read_bytes()


def updated(works: Sequence[PublicWork]) -> datetime:
    """When the feed's content last changed: its latest change (the epoch when empty)."""
    return max((w.changed_at for w in works), default=EPOCH)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _cap_time(moment: datetime) -> str:
    """CAP's dateTime: seconds, an explicit offset, never "Z"."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat()


def work_id(utility: PublicUtility, work: PublicWork) -> str:
    return f"{utility.code}-{work.outage_id}"


def host(base_url: str) -> str:
    return urlsplit(base_url).hostname or "localhost"


def _places(work: PublicWork) -> list[dict[str, Any]]:
    return [
        {
            "settlement": settlement,
            "streets": [{"street": street, "houses": houses} for street, houses in by.items()],
        }
        for settlement, by in streets(work.addresses).items()
    ]


def _window_text(utility: PublicUtility, start: datetime, end: datetime, language: str) -> str:
    date, begin, finish = local_window(start, end, utility.timezone, language)
    return f"{date} {begin}–{finish}"


def json_feed(utility: PublicUtility, works: Sequence[PublicWork], base_url: str) -> bytes:
    body = {
        "version": JSON_VERSION,
        "schema": f"{base_url}/schema/{JSON_SCHEMA_FILE}",
        "utility": {
            "code": utility.code,
            "name": utility.name,
            "timezone": utility.timezone,
            "language": utility.language,
            "contact_phone": utility.contact_phone,
        },
        "updated": _iso(updated(works)),
        "works": [
            {
                "id": work_id(utility, w),
                "type": "urgent" if w.urgent else "planned",
                "status": "cancelled" if w.cancelled else "planned",
                "starts_at": _iso(w.starts_at),
                "ends_at": _iso(w.ends_at),
                "moved_from": (
                    {"starts_at": _iso(w.moved_from[0]), "ends_at": _iso(w.moved_from[1])}
                    if w.moved_from
                    else None
                ),
                "reason": w.reason,
                "sequence": w.sequence,
                "changed_at": _iso(w.changed_at),
                "places": _places(w),
            }
            for w in works
        ],
    }
    return json.dumps(body, ensure_ascii=False, indent=1).encode()


def ical_feed(
    utility: PublicUtility, settlement: str, works: Sequence[PublicWork], base_url: str
) -> bytes:
    """One settlement's works as a calendar a phone can subscribe to."""
    language = utility.language
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"{i18n.text(language, 'planned_works')}: {settlement}")
    calendar.add("x-wr-timezone", utility.timezone)
    for w in in_settlement(works, settlement):
        event = Event()
        event.add("uid", f"outage-{work_id(utility, w)}@{host(base_url)}")
        event.add("dtstamp", w.changed_at)
        event.add("last-modified", w.changed_at)
        event.add("sequence", w.sequence)
        event.add("dtstart", w.starts_at)
        event.add("dtend", w.ends_at)
        event.add("status", "CANCELLED" if w.cancelled else "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        kind = i18n.text(language, "urgent" if w.urgent else "planned")
        event.add("summary", f"{i18n.text(language, 'planned_works')} ({kind}): {settlement}")
        lines = [f"{street} {houses}".strip() for street, houses in _streets_in(w, settlement)]
        if w.moved_from:
            moved = _window_text(utility, *w.moved_from, language)
            lines.append(i18n.text(language, "moved_from", window=moved))
        lines += [w.reason, i18n.text(language, "contact", phone=utility.contact_phone)]
        event.add("description", "\n".join(line for line in lines if line))
        event.add("location", settlement)
        event.add("url", f"{base_url}/{quote(utility.code)}/")
        calendar.add_component(event)
    return bytes(calendar.to_ical())


def _streets_in(work: PublicWork, settlement: str) -> list[tuple[str, str]]:
    for name, by in streets(work.addresses).items():
        if name.casefold() == settlement.casefold():
            return list(by.items())
    return []


def _area(settlement: str, by: dict[str, str]) -> str:
    named = "; ".join(f"{street} {houses}".strip() for street, houses in by.items() if street)
    return f"{settlement}: {named}" if named else settlement


def cap_alert(utility: PublicUtility, work: PublicWork, base_url: str) -> str:
    """One work as an OASIS CAP 1.2 alert (valid against the official XSD)."""
    language = utility.language
    if work.cancelled:
        msg_type = "Cancel"
    elif work.revision > 1:
        msg_type = "Update"
    else:
        msg_type = "Alert"
    kind = i18n.text(language, "urgent" if work.urgent else "planned")
    window = _window_text(utility, work.starts_at, work.ends_at, language)
    headline = f"{i18n.text(language, 'planned_works')} ({kind}): {window}"
    description = [work.reason]
    if work.moved_from:
        moved = _window_text(utility, *work.moved_from, language)
        description.append(i18n.text(language, "moved_from", window=moved))
    if work.cancelled:
        description.append(i18n.text(language, "cancelled"))
    areas = "".join(
        f"<area><areaDesc>{escape(_area(settlement, by))}</areaDesc></area>"
        for settlement, by in streets(work.addresses).items()
    )
    e = escape
    return (
        f'<alert xmlns="{CAP_NS}">'
        f"<identifier>{e(host(base_url))}-outage-{e(work_id(utility, work))}-{work.sequence}"
        f"</identifier>"
        f"<sender>{e(host(base_url))}</sender>"
        f"<sent>{_cap_time(work.changed_at)}</sent>"
        "<status>Actual</status>"
        f"<msgType>{msg_type}</msgType>"
        "<scope>Public</scope>"
        "<info>"
        f"<language>{e(language)}</language>"
        "<category>Infra</category>"
        f"<event>{e(i18n.text(language, 'planned_works'))}</event>"
        f"<responseType>{'None' if work.cancelled else 'Prepare'}</responseType>"
        f"<urgency>{'Expected' if work.urgent else 'Future'}</urgency>"
        "<severity>Minor</severity>"
        f"<certainty>{'Unlikely' if work.cancelled else 'Likely'}</certainty>"
        f"<onset>{_cap_time(work.starts_at)}</onset>"
        f"<expires>{_cap_time(work.ends_at)}</expires>"
        f"<senderName>{e(utility.name)}</senderName>"
        f"<headline>{e(headline)}</headline>"
        f"<description>{e(chr(10).join(description))}</description>"
        f"<web>{e(base_url)}/{e(quote(utility.code))}/</web>"
        f"<contact>{e(utility.contact_phone)}</contact>"
        f"{areas}"
        "</info>"
        "</alert>"
    )


def cap_atom_feed(utility: PublicUtility, works: Sequence[PublicWork], base_url: str) -> bytes:
    """An Atom feed with one entry per work, its content a CAP alert."""
    e = escape
    page = f"{base_url}/{quote(utility.code)}/"
    entries = []
    for w in works:
        alert = cap_alert(utility, w, base_url)
        title = (
            i18n.text(utility.language, "planned_works") + ": " + ", ".join(streets(w.addresses))
        )
        entries.append(
            "<entry>"
            f"<id>tag:{e(host(base_url))},2024:outage-{e(work_id(utility, w))}</id>"
            f"<title>{e(title)}</title>"
            f"<updated>{_iso(w.changed_at)}</updated>"
            f'<link rel="alternate" href="{e(page)}"/>'
            f'<content type="application/cap+xml">{alert}</content>'
            "</entry>"
        )
    feed = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{e(utility.language)}">'
        f"<id>tag:{e(host(base_url))},2024:planned-works-{e(utility.code)}</id>"
        f"<title>{e(i18n.text(utility.language, 'planned_works'))}: {e(utility.name)}</title>"
        f"<updated>{_iso(updated(works))}</updated>"
        f"<author><name>{e(utility.name)}</name></author>"
        f'<link rel="self" href="{e(page)}cap.atom"/>'
        f'<link rel="alternate" href="{e(page)}"/>' + "".join(entries) + "</feed>"
    )
    return feed.encode()
