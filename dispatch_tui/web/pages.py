"""The HTML pages, rendered with the Jinja2 templates shipped in the package.

View models are built here from the domain's grouping so the templates only
print: every time is already local and formatted, every text already in the
page's language. Autoescaping is on for every template.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import quote, urlencode

import jinja2

from dispatch_tui.domain.languages import LANGUAGES
from dispatch_tui.domain.public_works import (
    PublicUtility,
    PublicWork,
    sections,
    street_matches,
    streets,
)
from dispatch_tui.domain.templates import local_moment, local_window
from dispatch_tui.domain.text import fold
from dispatch_tui.web import i18n


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("dispatch_tui.web", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    return env


@dataclass(frozen=True)
class WorkView:
    """One work on one street (or a whole settlement), as the page prints it."""

    street: str
    houses: str
    start: str
    end: str
    kind: str
    change: str
    cancelled: bool
    reason: str
    notices: str = ""
    """The printable entrance notices' page, where it exists (approved, not cancelled)."""


@dataclass(frozen=True)
class SettlementView:
    name: str
    calendar: str
    page: str
    lines: int
    """Streets (or a whole village) with works."""
    works: tuple[WorkView, ...]


def _work_view(
    utility: PublicUtility,
    work: PublicWork,
    street: str,
    houses: str,
    language: str,
    now: datetime,
    *,
    notices: bool = True,
) -> WorkView:
    date, start, end = local_window(work.starts_at, work.ends_at, utility.timezone, language)
    change = ""
    if work.cancelled:
        change = i18n.text(language, "cancelled")
    elif work.moved_visible(now) and work.moved_from is not None:
        d, s, e = local_window(*work.moved_from, utility.timezone, language)
        change = i18n.text(language, "moved_from", window=f"{d} {s}–{e}")
    return WorkView(
        street=street or i18n.text(language, "whole_settlement"),
        houses=houses,
        start=f"{date} {start}",
        end=end,
        kind=i18n.text(language, "urgent" if work.urgent else "planned"),
        change=change,
        cancelled=work.cancelled,
        reason=work.reason,
        notices=notices_url(utility, work.outage_id) if notices and not work.cancelled else "",
    )


def notices_url(utility: PublicUtility, outage_id: int) -> str:
    return f"/{quote(utility.code)}/outage/{outage_id}/notices"


def _switch(path: str, current: str, choices: Sequence[str], query: dict[str, str]) -> list[Any]:
    return [
        {
            "code": code,
            "name": i18n.name(code),
            "url": f"{path}?{urlencode({**query, 'lang': code})}",
            "current": code == current,
        }
        for code in choices
    ]


def _base(
    language: str, path: str, choices: Sequence[str], query: dict[str, str]
) -> dict[str, Any]:
    return {
        "lang": language,
        "t": lambda key, **values: i18n.text(language, key, **values),
        "languages": _switch(path, language, choices, query),
    }


def index_page(utilities: Sequence[PublicUtility], language: str) -> str:
    context = _base(language, "/", list(i18n.TEXTS), {})
    context["utilities"] = [
        {"code": u.code, "name": u.name, "url": f"/{quote(u.code)}/?lang={u.language}"}
        for u in utilities
    ]
    return environment().get_template("index.html").render(context)


def _header(
    utility: PublicUtility, language: str, as_of: datetime, stale_since: datetime | None
) -> dict[str, Any]:
    return {
        "utility": utility,
        "updated": local_moment(as_of, utility.timezone, language),
        "stale": stale_since is not None,
        "zone": utility.timezone,
        "home": f"/{quote(utility.code)}/?lang={language}",
        "signup": f"/{quote(utility.code)}/signup?lang={language}",
        "reading": f"/{quote(utility.code)}/reading?lang={language}",
    }


def works_page(
    utility: PublicUtility,
    works: Sequence[PublicWork],
    language: str,
    *,
    now: datetime,
    as_of: datetime,
    stale_since: datetime | None,
    settlement: str | None = None,
) -> str:
    """The utility's overview (its settlements, each a link with its number of streets
    affected), or with `settlement` that settlement's streets, houses and windows: a
    page stays light on a phone however large the network."""
    base = f"/{quote(utility.code)}/"
    query = {"settlement": settlement} if settlement else {}
    context = _base(language, base, i18n.languages_for(utility.language), query)
    context.update(_header(utility, language, as_of, stale_since))
    wanted = fold(settlement) if settlement else None
    context["settlements"] = [
        SettlementView(
            name=section.settlement,
            calendar=f"{base}calendar.ics?{urlencode({'settlement': section.settlement})}",
            page=f"{base}?{urlencode({'settlement': section.settlement, 'lang': language})}",
            lines=len(section.lines),
            works=tuple(
                _work_view(utility, line.work, line.street, line.houses, language, now)
                for line in section.lines
            )
            if wanted is not None
            else (),
        )
        for section in sections(works, now)
        if wanted is None or fold(section.settlement) == wanted
    ]
    context["overview"] = wanted is None
    context["feeds"] = {"json": f"{base}works.json", "cap": f"{base}cap.atom"}
    context["form"] = {"settlement": settlement or "", "street": ""}
    context["search_url"] = f"{base}search"
    return environment().get_template("works.html").render(context)


def search_page(
    utility: PublicUtility,
    language: str,
    *,
    now: datetime,
    as_of: datetime,
    stale_since: datetime | None,
    form: dict[str, str],
    found: Sequence[PublicWork] | None,
    error: str = "",
    by_metering_point: bool = False,
) -> str:
    """The search form and, once asked, its answer. A metering point's answer names its
    works' windows and settlements, never its street: its id may be an account number."""
    base = f"/{quote(utility.code)}/"
    query = {k: v for k, v in form.items() if v and k != "mp"}
    context = _base(language, f"{base}search", i18n.languages_for(utility.language), query)
    context.update(_header(utility, language, as_of, stale_since))
    answer = None
    if found is not None:
        answer = []
        for work in found:
            places = streets(work.addresses)
            if by_metering_point:
                # No notices link: they name the streets this answer keeps to itself.
                where = ", ".join(places)
                answer.append(_work_view(utility, work, where, "", language, now, notices=False))
                continue
            wanted = fold(form.get("settlement", ""))
            for settlement, by_street in places.items():
                if fold(settlement) != wanted:
                    continue
                for street, houses in by_street.items():
                    if not street_matches(street or settlement, form.get("street", "")):
                        continue
                    name = f"{settlement}, {street}" if street else settlement
                    answer.append(_work_view(utility, work, name, houses, language, now))
    context.update(
        form=form,
        answer=answer,
        error=error,
        search_url=f"{base}search",
    )
    return environment().get_template("search.html").render(context)


def error_page(language: str, status: int, message: str, back: str = "/") -> str:
    context = _base(language, back, [language], {})
    context.update(status=status, message=message, back=back)
    return environment().get_template("error.html").render(context)


@dataclass(frozen=True)
class PendingView:
    """A code sent, as the code page carries it from form to form: the sign-up's
    secret handle, its channel and the masked address it went to."""

    token: str
    channel: str
    shown_to: str

    @property
    def value(self) -> str:
        return f"{self.token}:{self.channel}:{self.shown_to}"


def _notice_languages(utility: PublicUtility) -> list[dict[str, str]]:
    ordered = dict.fromkeys((utility.language, *LANGUAGES))
    return [{"code": code, "name": i18n.name(code)} for code in ordered]


def signup_page(
    utility: PublicUtility,
    language: str,
    *,
    as_of: datetime,
    stale_since: datetime | None,
    form: dict[str, Any],
    csrf: str,
    error: str = "",
    field: str = "",
) -> str:
    """The sign-up form (refilled after a mistake, the field named by `field` marked)."""
    base = f"/{quote(utility.code)}/"
    context = _base(language, f"{base}signup", i18n.languages_for(utility.language), {})
    context.update(_header(utility, language, as_of, stale_since))
    context.update(
        action=f"{base}signup",
        form=form,
        csrf=csrf,
        error=error,
        field=field,
        notice_languages=_notice_languages(utility),
    )
    return environment().get_template("signup.html").render(context)


def reading_page(
    utility: PublicUtility,
    language: str,
    *,
    as_of: datetime,
    stale_since: datetime | None,
    form: dict[str, Any],
    csrf: str,
    error: str = "",
    field: str = "",
    answer: str = "",
) -> str:
    """The meter-reading form (seed 003), with the answer to the last reading sent."""
    base = f"/{quote(utility.code)}/"
    context = _base(language, f"{base}reading", i18n.languages_for(utility.language), {})
    context.update(_header(utility, language, as_of, stale_since))
    context.update(action=f"{base}reading", form=form, csrf=csrf, error=error, field=field)
    context.update(answer=answer)
    return environment().get_template("reading.html").render(context)


def codes_page(
    utility: PublicUtility,
    language: str,
    *,
    as_of: datetime,
    stale_since: datetime | None,
    pending: Sequence[PendingView],
    csrf: str,
    done: Sequence[str] = (),
    notes: Sequence[str] = (),
    error: str = "",
) -> str:
    """What a sign-up waits for: a code form (and a new-code button) per address."""
    base = f"/{quote(utility.code)}/"
    context = _base(language, f"{base}signup", i18n.languages_for(utility.language), {})
    context.update(_header(utility, language, as_of, stale_since))
    context.update(
        pending=pending,
        csrf=csrf,
        done=done,
        notes=notes,
        error=error,
        confirm_url=f"{base}signup/confirm",
        resend_url=f"{base}signup/resend",
        signup_url=f"{base}signup?lang={language}",
    )
    return environment().get_template("codes.html").render(context)


def unsubscribe_page(
    language: str, path: str, *, ask: bool, message: str = "", ok: bool = True
) -> str:
    """The unsubscribe link's page: a button (a GET never unsubscribes), or the outcome."""
    context = _base(language, path, list(i18n.TEXTS), {})
    context.update(action=f"{path}?lang={language}", ask=ask, message=message, ok=ok)
    return environment().get_template("unsubscribe.html").render(context)
