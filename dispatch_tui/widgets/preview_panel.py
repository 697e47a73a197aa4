"""What an outage's notices will do, shown to the drafter and the approver.

The panel only renders a :class:`~dispatch_tui.storage.preview.Preview`,
which storage has already aggregated (counts, a handful of samples, a short
schedule), so it costs the same for 3 metering points as for 100,000. Every
state that matters (a blocking problem, a warning, an SMS over the cap) is
said in words, so it survives ``NO_COLOR`` and a monochrome SSH session.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from zoneinfo import ZoneInfo

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.content import Content
from textual.reactive import reactive
from textual.widgets import Static

from dispatch_tui.domain.notice_plan import PlannedNotice, describe
from dispatch_tui.storage.amendment_review import AmendmentReview
from dispatch_tui.storage.preview import Preview, Sample
from dispatch_tui.widgets.formatting import format_window

CHANNEL_LABELS = {"sms": "SMS", "email": "e-mail", "telegram": "Telegram", "viber": "Viber"}
CHANNEL_ORDER = ("sms", "email", "telegram", "viber")


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def money(amount: Decimal, currency: str) -> str:
    """Costs are exact Decimals; the display rounds to cents."""
    return f"{amount:,.2f} {currency}"


def plural(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def local_time(notice: PlannedNotice, zone: ZoneInfo) -> str:
    return notice.due_at_utc.astimezone(zone).strftime("%Y-%m-%d %a %H:%M %Z")


def _heading(text: str) -> Content:
    return Content.styled(text, "bold")


def _lines(parts: Iterable[Content | str]) -> Content:
    return Content("\n").join(parts)


def contacts_table(preview: Preview) -> Content:
    """Consenting contacts as channel rows × language columns, padded by hand
    so it reads the same in any terminal."""
    contacts = preview.counts.contacts
    if not contacts:
        return _lines([_heading("Consenting contacts"), "none: nobody can be told"])
    languages = sorted({language for _channel, language in contacts})
    channels = sorted(
        {channel for channel, _language in contacts},
        key=lambda c: (CHANNEL_ORDER.index(c) if c in CHANNEL_ORDER else 99, c),
    )
    header = ["", *languages, "total"]
    rows = [
        [
            channel_label(channel),
            *(f"{contacts.get((channel, lang), 0):,}" for lang in languages),
            f"{sum(contacts.get((channel, lang), 0) for lang in languages):,}",
        ]
        for channel in channels
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest])

    return _lines(
        [
            _heading("Consenting contacts (channel × language)"),
            Content.styled(line(header), "underline"),
            *(line(row) for row in rows),
        ]
    )


def affected_text(preview: Preview) -> Content:
    counts = preview.counts
    return _lines(
        [
            _heading("Who is affected"),
            Content.assemble("Metering points: ", (f"{counts.metering_points:,}", "bold")),
            Content.assemble("Subscribers: ", (f"{counts.subscribers:,}", "bold")),
            Content.assemble(
                "Priority points (life support, hospitals): ",
                (f"{counts.priority_metering_points:,}", "bold"),
            ),
        ]
    )


def cost_text(preview: Preview, messaging_notices: int) -> Content:
    """One notice's SMS bill, the whole plan's, and what transliteration saves."""
    plain, gsm, currency = preview.sms_cost, preview.sms_cost_transliterated, preview.currency
    if not plain.segments:
        return _lines([_heading("SMS cost"), "no SMS in this notice"])
    saved_segments = plain.segments - gsm.segments
    saved = plain.cost - gsm.cost
    lines: list[Content | str] = [
        _heading("SMS cost (one address per subscriber)"),
        Content.assemble(
            "Per notice: ",
            (plural(plain.segments, "segment"), "bold"),
            ", about ",
            (money(plain.cost, currency), "bold"),
        ),
    ]
    if messaging_notices > 1:
        lines.append(
            f"Whole plan ({messaging_notices} SMS notices): "
            f"{plural(plain.segments * messaging_notices, 'segment')}, about "
            f"{money(plain.cost * messaging_notices, currency)}"
        )
    if saved_segments > 0:
        lines.append(
            f"With transliteration (GSM-7): {plural(gsm.segments, 'segment')}, about "
            f"{money(gsm.cost, currency)}, saving {money(saved, currency)} "
            f"({plural(saved_segments, 'segment')}) per notice"
        )
    else:
        lines.append("With transliteration: no saving (the text is GSM-7 already)")
    return _lines(lines)


def schedule_text(preview: Preview) -> Content:
    """The notices in the order they go out, each saying what it is; one moved
    out of quiet hours says so on its own line, with why."""
    zone = ZoneInfo(preview.timezone)
    lines: list[Content | str] = [_heading(f"Notices, in local time ({preview.timezone})")]
    if not preview.schedule:
        lines.append("none planned")
    for notice in sorted(preview.schedule, key=lambda n: (n.due_at_utc, str(n.channel_group))):
        what, why = describe(notice, zone)
        lines.append(f"{local_time(notice, zone)}  {what}")
        if why:
            lines.append(f"    {why}")
    return _lines(lines)


def findings_text(label: str, items: list[str]) -> Content:
    """Each line starts with its label, so meaning never rests on colour."""
    return _lines(Content.assemble((f"{label}: ", "bold"), item) for item in items)


def sample_title(sample: Sample) -> str:
    return (
        f"{channel_label(sample.channel)} · {sample.language} · "
        f"{plural(sample.recipients, 'recipient')}"
    )


def sample_text(sample: Sample) -> Content:
    """The exact text as sent; for SMS the worst case with its size."""
    lines: list[Content | str] = []
    if sample.sms is not None:
        info = sample.sms
        lines.append(
            f"{info.encoding} · {plural(info.characters, 'character')} · "
            f"{plural(info.segments, 'segment')} per message · "
            f"{info.addresses_shown} of {plural(info.addresses_total, 'address', 'addresses')}"
        )
        if info.over_cap:
            lines.append(
                Content.styled("OVER THE CAP: shorten the text or transliterate", "bold reverse")
            )
        lines.append("")
    if sample.subject is not None:
        lines.append(Content.assemble(("Subject: ", "bold"), sample.subject))
        lines.append("")
    lines.append(Content(sample.body))
    return _lines(lines)


def amendment_text(review: AmendmentReview, timezone: str) -> Content:
    """Old → new, who changed it, and who hears of it: what the approver decides on."""
    before = (
        format_window(*review.before, timezone, weekday=True) if review.before else "(not recorded)"
    )
    lines: list[Content | str] = [
        Content.assemble(("Was: ", "bold"), before),
        Content.assemble(
            ("Now: ", "bold"), (format_window(*review.after, timezone, weekday=True), "bold")
        ),
        f"Changed by {review.amended_by}.",
    ]
    if review.told_subscribers:
        lines.append(
            Content.assemble(
                (plural(review.told_subscribers, "subscriber"), "bold"),
                " already told get the amendment below; the new plan's notices go to the "
                "others, and to them only for kinds they have not had.",
            )
        )
    else:
        lines.append("Nobody has been told yet: only the notices of the new plan go out.")
    return _lines(lines)


def amendment_boxes(review: AmendmentReview, timezone: str) -> Iterable[Static]:
    box = Static(amendment_text(review, timezone), classes="amendment")
    box.border_title = "Amended: review the change"
    yield box
    for sample in review.samples:
        text = Static(sample_text(sample), classes="sample")
        text.border_title = "Amendment · " + sample_title(sample)
        yield text


class PreviewPanel(VerticalScroll):
    """Scrollable preview; :meth:`show` swaps in a new one in one recompose.

    Problems and warnings come first: at 80×24 they are what an approver must
    not miss, and the long message texts come last.
    """

    DEFAULT_CSS = """
    PreviewPanel { padding: 0 1; }
    PreviewPanel > Static { margin-bottom: 1; }
    PreviewPanel > .problems { border: heavy $error; padding: 0 1; }
    PreviewPanel > .warnings { border: round $warning; padding: 0 1; }
    PreviewPanel > .amendment { border: heavy $warning; padding: 0 1; }
    PreviewPanel > .sample { border: round $primary; padding: 0 1; }
    PreviewPanel > .sample.over-cap { border: heavy $error; }
    PreviewPanel > .note { color: $text-muted; }
    """

    preview: reactive[Preview | None] = reactive(None, recompose=True)
    amendment: reactive[AmendmentReview | None] = reactive(None, recompose=True)
    note: reactive[str] = reactive("Nothing to preview.", recompose=True)

    def __init__(
        self,
        preview: Preview | None = None,
        *,
        id: str | None = None,
    ) -> None:
        """With `preview`, the first compose already shows it: composing the note and
        then recomposing cost the full-screen preview a second layout (~200 ms)."""
        super().__init__(id=id)
        self.set_reactive(PreviewPanel.preview, preview)

    def show(self, preview: Preview, amendment: AmendmentReview | None = None) -> None:
        """Both are recomposed together on the next refresh."""
        self.amendment = amendment
        self.preview = preview
        self.scroll_home(animate=False)

    def show_message(self, text: str) -> None:
        """Replace the preview with a sentence (nothing selected, a failure)."""
        self.preview = None
        self.note = text

    def compose(self) -> ComposeResult:
        preview = self.preview
        if preview is None:
            yield Static(Content(self.note), classes="note")
            return
        if self.amendment is not None:
            yield from amendment_boxes(self.amendment, preview.timezone)
        if preview.problems:
            problems = Static(findings_text("Problem", preview.problems), classes="problems")
            problems.border_title = "Problems: these block submitting"
            yield problems
        if preview.warnings:
            warnings = Static(findings_text("Warning", preview.warnings), classes="warnings")
            warnings.border_title = "Warnings: weigh before approving"
            yield warnings
        yield Static(affected_text(preview), classes="affected")
        yield Static(contacts_table(preview), classes="contacts")
        messaging = sum(1 for n in preview.schedule if str(n.channel_group) == "messaging")
        yield Static(cost_text(preview, messaging), classes="cost")
        yield Static(schedule_text(preview), classes="schedule")
        if not preview.samples:
            yield Static("No message texts: nobody affected can be reached.", classes="note")
        for sample in preview.samples:
            over = sample.sms is not None and sample.sms.over_cap
            box = Static(sample_text(sample), classes="sample over-cap" if over else "sample")
            box.border_title = sample_title(sample)
            if over:
                box.border_subtitle = "OVER THE CAP"
            yield box
