"""The preview panel says everything in words: counts, the exact texts with
SMS segments, the cost and the transliteration saving, the schedule in the
utility's clock, problems and warnings; and it stays cheap for a huge
selection because it only renders aggregates."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine, select
from textual.app import App, ComposeResult
from textual.widgets import Static

from dispatch_tui.domain.draft import OutageDraft
from dispatch_tui.domain.notice_plan import ChannelGroup, NoticeKind, PlannedNotice
from dispatch_tui.domain.selection import Selection
from dispatch_tui.domain.templates import SmsPreview
from dispatch_tui.storage.affected import AffectedCounts
from dispatch_tui.storage.preview import Preview, Sample, SmsCost, build_preview
from dispatch_tui.storage.tables import node, utility
from dispatch_tui.widgets.preview_panel import PreviewPanel

NOW = datetime(2030, 5, 20, 9, 0, tzinfo=UTC)
START = datetime(2030, 6, 3, 6, 0, tzinfo=UTC)


class PanelApp(App[None]):
    def __init__(self, preview: Preview) -> None:
        super().__init__()
        self.preview = preview

    def compose(self) -> ComposeResult:
        yield PreviewPanel()

    def on_mount(self) -> None:
        self.query_one(PreviewPanel).show(self.preview)


def region_preview(engine: Engine, *, now: datetime = NOW) -> Preview:
    with engine.connect() as conn:
        eg = conn.execute(select(utility.c.id).where(utility.c.code == "EG")).scalar_one()
        region = conn.execute(select(node.c.id).where(node.c.code == "EG-R1")).scalar_one()
        draft = OutageDraft(
            utility_id=eg,
            title="Zamenjava transformatorja",
            reason="vzdrževalna dela na transformatorski postaji",
            starts_at=START,
            ends_at=START + timedelta(hours=4),
            selection=Selection(nodes=frozenset({region})),
        )
        return build_preview(
            conn, draft, now=now, price_per_segment=Decimal("0.05"), currency="EUR"
        )


async def panel_text(preview: Preview) -> str:
    app = PanelApp(preview)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        statics = app.query_one(PreviewPanel).query(Static)
        return "\n".join(
            f"{s.border_title or ''}\n{s.border_subtitle or ''}\n{s.render()}" for s in statics
        )


async def test_region_preview_is_spelled_out(tui_engine: Engine) -> None:
    preview = region_preview(tui_engine)
    text = await panel_text(preview)
    assert "Metering points: 3" in text and "Subscribers: 2" in text
    assert "Priority points (life support, hospitals): 1" in text
    assert "Consenting contacts (channel × language)" in text
    assert "SMS · sl · 1 recipient" in text and "e-mail · sl · 1 recipient" in text
    assert "UCS-2" in text and "segment" in text and "per message" in text
    assert "Subject: " in text
    assert "Per notice: " in text and "EUR" in text
    assert "With transliteration" in text
    assert "Notices, in local time (Europe/Ljubljana)" in text
    assert "2030-05-29 Wed" in text and "CEST" in text and "advance notice" in text
    assert "Warning: " in text and "priority metering points" in text
    assert "Problem: " not in text
    for sample in preview.samples:
        assert sample.body.splitlines()[0] in text


async def test_problems_are_labelled(tui_engine: Engine) -> None:
    preview = region_preview(tui_engine, now=START + timedelta(hours=1))
    assert preview.problems
    text = await panel_text(preview)
    assert "Problems: these block submitting" in text
    assert f"Problem: {preview.problems[0]}" in text


def huge_preview() -> Preview:
    body = "Načrtovan izklop " * 12
    sms = SmsPreview(body, "UCS-2", len(body), 4, 3, 41, over_cap=True)
    counts = AffectedCounts(
        metering_points=100_000,
        priority_metering_points=37,
        subscribers=81_234,
        contacts={("sms", "sl"): 60_000, ("email", "sl"): 20_000, ("sms", "en"): 1_200},
    )
    schedule = [
        PlannedNotice(NoticeKind.ADVANCE, START - timedelta(days=5), ChannelGroup.MESSAGING),
        PlannedNotice(NoticeKind.DAY_BEFORE, START - timedelta(days=1), ChannelGroup.MESSAGING),
        PlannedNotice(NoticeKind.ADVANCE, START - timedelta(days=5), ChannelGroup.EMAIL),
    ]
    return Preview(
        counts=counts,
        samples=[Sample("sl", "sms", 60_000, None, body, sms)],
        schedule=schedule,
        timezone="Europe/Ljubljana",
        sms_cost=SmsCost(183_600, Decimal("9180.00")),
        sms_cost_transliterated=SmsCost(62_400, Decimal("3120.00")),
        currency="EUR",
        warnings=["the sl SMS needs 4 segments, over the cap of 3"],
    )


async def test_huge_selection_renders_aggregates_fast() -> None:
    started = time.perf_counter()
    text = await panel_text(huge_preview())
    assert time.perf_counter() - started < 5
    assert "Metering points: 100,000" in text and "Subscribers: 81,234" in text
    assert "60,000" in text and "61,200" in text
    assert "OVER THE CAP" in text and "3 of 41 addresses" in text
    assert "Per notice: 183,600 segments, about 9,180.00 EUR" in text
    assert "Whole plan (2 SMS notices): 367,200 segments, about 18,360.00 EUR" in text
    assert "saving 6,060.00 EUR (121,200 segments) per notice" in text
    assert "day-before notice · SMS and bots" in text and "advance notice · e-mail" in text


async def test_a_message_replaces_the_preview() -> None:
    app = PanelApp(huge_preview())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = app.query_one(PreviewPanel)
        panel.show_message("Nothing is waiting for approval [really].")
        await pilot.pause()
        texts = [str(s.render()) for s in panel.query(Static)]
        assert texts == ["Nothing is waiting for approval [really]."]
