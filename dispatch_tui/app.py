"""The Textual app: wiring only (modes, global keys, identity, errors)."""

from __future__ import annotations

import gc
from collections.abc import Iterable, Sequence
from functools import partial
from typing import Any, ClassVar

from sqlalchemy import Engine
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.content import Content
from textual.dom import DOMNode
from textual.events import Resize
from textual.screen import Screen

from dispatch_tui.approval_alert import ApprovalAlert
from dispatch_tui.change_feed import ChangeFeed
from dispatch_tui.config import Settings, load_settings
from dispatch_tui.dialogs.confirm import ConfirmDialog
from dispatch_tui.domain.roles import Action
from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.screens.approvals import ApprovalsScreen
from dispatch_tui.screens.audit import AuditScreen
from dispatch_tui.screens.campaigns import CampaignsScreen
from dispatch_tui.screens.help import HelpScreen
from dispatch_tui.screens.monitor import MonitorScreen
from dispatch_tui.screens.network import NetworkScreen
from dispatch_tui.screens.outages import OutagesScreen
from dispatch_tui.screens.subscribers import SubscribersScreen
from dispatch_tui.screens.unknown_user import UnknownUserScreen
from dispatch_tui.widgets.engine_status import EDIT_ONLY, REFRESH_SECONDS, read_engine_status
from dispatch_tui.widgets.identity import Identity, resolve
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors

SANDBOX_LABEL = "SANDBOX SMS"
SEPARATOR = " · "
HEADER_SIDES = 18
"""Columns of the header that are not its text: Textual's icon (8) and clock space (10)."""


def fit_parts(parts: Sequence[Sequence[str]], width: int) -> str:
    """Join one form of each part into at most `width` columns: each part lists its forms
    longest first ("" drops it); the last parts give way first, the first part never."""
    chosen = [0] * len(parts)

    def text() -> str:
        return SEPARATOR.join(f for p, i in zip(parts, chosen, strict=True) if (f := p[i]))

    for index in reversed(range(1, len(parts))):
        while len(text()) > width and chosen[index] < len(parts[index]) - 1:
            chosen[index] += 1
    return text()


def database_forms(url: str) -> tuple[str, str, str]:
    """The database as shown in the header: its URL, its file or database name, nothing."""
    return url, url.rsplit("/", 1)[-1].split("?")[0] or url, ""


GC_THRESHOLDS = (20_000, 50, 100)
"""Collect the young generation every 20,000 allocations instead of 700: a screen
built after a large preview allocated enough to set off a full collection in
one frame in three (F6 took 400 ms instead of 240, bench `tui-preview`)."""


def tune_gc() -> None:
    """Process-wide, for the terminal app: what startup made lives as long as the
    app (frozen out of every collection), and collections come less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class DispatchApp(ReportsWorkerErrors, App[None]):
    """One mode per work area; each keeps its own screen stack."""

    TITLE = "dispatch-tui"
    MODES: ClassVar[dict[str, type]] = {  # type: ignore[assignment]
        "network": NetworkScreen,
        "outages": OutagesScreen,
        "approvals": ApprovalsScreen,
        "audit": AuditScreen,
        "monitor": MonitorScreen,
        "subscribers": SubscribersScreen,
        "campaigns": CampaignsScreen,
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "switch_mode('network')", "Network", id="mode.network"),
        Binding("f3", "switch_mode('outages')", "Outages", id="mode.outages"),
        Binding("f4", "switch_mode('approvals')", "Approvals", id="mode.approvals"),
        Binding("f5", "switch_mode('audit')", "Audit", id="mode.audit"),
        Binding("f6", "switch_mode('monitor')", "Monitor", id="mode.monitor"),
        Binding("f8", "switch_mode('subscribers')", "Subscribers", id="mode.subscribers"),
        Binding("f9", "switch_mode('campaigns')", "Campaigns", id="mode.campaigns"),
        Binding("f1,question_mark", "help", "Help", id="help"),
        Binding("ctrl+q", "quit", "Quit", id="quit"),
        # Priority: the app moves focus the moment it reads Tab, so the keys after it in
        # the same burst (typed ahead over SSH) go to the widget Tab moved to. As a
        # screen binding, Tab would first travel through the focused widget's queue,
        # behind which the app had already handed it the rest of the burst.
        Binding("tab", "focus_next", "Next field", show=False, priority=True, id="focus.next"),
        Binding(
            "shift+tab",
            "focus_previous",
            "Previous field",
            show=False,
            priority=True,
            id="focus.previous",
        ),
    ]

    def __init__(
        self,
        engine: Engine,
        *,
        sandbox: bool,
        settings: Settings | None = None,
        login: str | None = None,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.settings = settings or load_settings(env={})
        self.login = login
        self.identity = Identity(login or "", None)
        self.database = engine.url.render_as_string(hide_password=True)
        self.sandbox = sandbox
        """Whether the header says SANDBOX: this terminal's setting, or when it does not
        send, what the living engines say of theirs."""
        self._own_sandbox = sandbox
        self.delivery: DeliveryEngine | None = None
        self.changes = ChangeFeed(self, engine)
        self.approval_alert = ApprovalAlert(self)
        self.awaiting = 0
        self.engine_state = "engine: starting" if self.settings.engine_embedded else EDIT_ONLY
        self.engine_forms: tuple[str, ...] = ()
        """Who sends, when this terminal does not (widgets/engine_status)."""
        self.gateway_forms: tuple[str, ...] = ()
        """The gateways a sending process finds down, this terminal's or another's."""
        self._set_subtitle()

    def _set_subtitle(self) -> None:
        """The header's parts in what fits: SANDBOX first and whole, then what waits for
        this operator's approval, who (the role gives way), the engine and the database,
        which give way first (file name, then nothing)."""
        who = f"{self.identity.login} ({self.identity.role})" if self.identity.role else "…"
        parts: list[Sequence[str]] = [(SANDBOX_LABEL,)] if self.sandbox else []
        if self.gateway_forms:
            parts.append(self.gateway_forms)
        engine = self.engine_forms or (self.engine_state, self.engine_state.split(" (")[0], "")
        waiting = [(f"{self.awaiting} to approve", f"{self.awaiting}⚑")] if self.awaiting else []
        login = self.identity.login or who
        parts += [*waiting, (who, login), engine, database_forms(self.database)]
        width = self.size.width - HEADER_SIDES - len(self.title) - len(" — ")
        self.sub_title = fit_parts(parts, width)

    def on_resize(self, _event: Resize) -> None:
        self._set_subtitle()

    def format_title(self, title: str, sub_title: str) -> Content:
        """Title and subtitle, with the SANDBOX marker standing out; also above a screen
        whose own subtitle (the preview's) replaces the app's, so it is never missing."""
        if not self.sandbox:
            return super().format_title(title, sub_title)
        rest = sub_title.removeprefix(SANDBOX_LABEL).removeprefix(SEPARATOR)
        return Content.assemble(
            title,
            (" — ", "dim"),
            (SANDBOX_LABEL, "bold reverse"),
            *([(SEPARATOR, "dim"), (rest, "dim")] if rest else []),
        )

    def on_mount(self) -> None:
        self.identify()

    @work(thread=True, exit_on_error=False, group="identity")
    def identify(self) -> None:
        identity = resolve(self.engine, self.login)
        self.call_from_thread(self._identified, identity)

    def _identified(self, identity: Identity) -> None:
        self.identity = identity
        self._set_subtitle()
        if identity.role is None:
            self.push_screen(UnknownUserScreen(identity.login, self.database))
            return
        self.switch_mode("network")
        if identity.may(Action.APPROVE):
            self.approval_alert.start()
        self.changes.start()
        if self.settings.engine_embedded:
            self.start_delivery()
        self.watch_engines()

    @work(thread=True, exit_on_error=False, group="engines")
    def watch_engines(self) -> None:
        """Who sends (when this terminal does not) and which gateways are down: read now
        and again every few seconds, each read timed from the end of the last one.
        Not exclusive: on a loaded machine the next read could start before this
        worker returns, and would cancel it for nothing."""
        try:
            status = read_engine_status(self.engine)
            engines, sandbox = status.engines, status.sms_sandboxed
            if self.settings.engine_embedded or sandbox is None:
                # This terminal sends (or nobody says): its own settings stand.
                own = () if self.settings.engine_embedded else engines
                engines, sandbox = own, self._own_sandbox
            self.call_from_thread(self._engines_seen, engines, status.gateways, sandbox)
        finally:
            self.call_from_thread(self.set_timer, REFRESH_SECONDS, self.watch_engines)

    def _engines_seen(
        self, engines: tuple[str, ...], gateways: tuple[str, ...], sandbox: bool
    ) -> None:
        seen = (engines, gateways, sandbox)
        if seen != (self.engine_forms, self.gateway_forms, self.sandbox):
            self.engine_forms, self.gateway_forms, self.sandbox = seen
            self._set_subtitle()

    @work(exit_on_error=False, group="delivery")
    async def start_delivery(self) -> None:
        """The embedded engine shares this event loop; its database work runs in threads."""
        self.delivery = DeliveryEngine(self.engine, self.settings, kind="app")
        try:
            await self.delivery.start()
        except Exception as exc:
            self.engine_state = f"engine: failed ({exc})"
            self.delivery = None
            self._set_subtitle()
            raise
        self.engine_state = self.delivery.describe()
        self._set_subtitle()

    def show_awaiting(self, count: int) -> None:
        """The header counts the outages waiting for this operator's approval."""
        self.awaiting = count
        self._set_subtitle()

    async def on_unmount(self) -> None:
        await self.changes.stop()
        if self.delivery is not None:
            await self.delivery.stop()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """An operator without a role can only quit."""
        return self.identity.role is not None or action == "quit"

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """Every key binding of the current screen is also a palette command."""
        if self.identity.role is None:
            yield from super().get_system_commands(screen)
            return
        seen: set[str] = set()
        for active in screen.active_bindings.values():
            binding = active.binding
            if not binding.description or not active.enabled or binding.description in seen:
                continue
            seen.add(binding.description)
            key = self.get_key_display(binding)
            node, action = active.node, binding.action
            yield SystemCommand(
                binding.description,
                f"key: {key}",
                partial(self._run_bound, node, action),
            )
        yield from super().get_system_commands(screen)

    def _run_bound(self, node: DOMNode, action: str) -> None:
        self.call_later(self.run_action, action, node)

    def _unsaved_work(self) -> bool:
        """A screen in any mode's stack (a draft form left open under another mode too)
        holds typed work that quitting would lose."""
        return any(
            getattr(screen, "has_unsaved_changes", lambda: False)()
            for stack in self._screen_stacks.values()  # textual is pinned exactly
            for screen in stack
        )

    async def action_quit(self) -> None:
        if not self._unsaved_work():
            self.exit()
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.exit()

        await self.push_screen(
            ConfirmDialog(
                "A draft has changes that are not saved. Quit and discard them?",
                yes="Quit",
                no="Keep editing",
            ),
            answered,
        )

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))
