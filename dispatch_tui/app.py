"""The Textual app: wiring only (modes, global keys, identity, errors)."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import Any, ClassVar

from sqlalchemy import Engine
from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.screen import Screen

from dispatch_tui.approval_alert import ApprovalAlert
from dispatch_tui.change_feed import ChangeFeed
from dispatch_tui.config import Settings, load_settings
from dispatch_tui.domain.roles import Action
from dispatch_tui.engine.runner import DeliveryEngine
from dispatch_tui.screens.approvals import ApprovalsScreen
from dispatch_tui.screens.audit import AuditScreen
from dispatch_tui.screens.help import HelpScreen
from dispatch_tui.screens.monitor import MonitorScreen
from dispatch_tui.screens.network import NetworkScreen
from dispatch_tui.screens.outages import OutagesScreen
from dispatch_tui.screens.subscribers import SubscribersScreen
from dispatch_tui.screens.unknown_user import UnknownUserScreen
from dispatch_tui.widgets.identity import Identity, resolve
from dispatch_tui.widgets.worker_errors import ReportsWorkerErrors


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
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f2", "switch_mode('network')", "Network", id="mode.network"),
        Binding("f3", "switch_mode('outages')", "Outages", id="mode.outages"),
        Binding("f4", "switch_mode('approvals')", "Approvals", id="mode.approvals"),
        Binding("f5", "switch_mode('audit')", "Audit", id="mode.audit"),
        Binding("f6", "switch_mode('monitor')", "Monitor", id="mode.monitor"),
        Binding("f8", "switch_mode('subscribers')", "Subscribers", id="mode.subscribers"),
        Binding("f1,question_mark", "help", "Help", id="help"),
        Binding("ctrl+q", "quit", "Quit", id="quit"),
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
        self.delivery: DeliveryEngine | None = None
        self.changes = ChangeFeed(self, engine)
        self.approval_alert = ApprovalAlert(self)
        self.awaiting = 0
        self.engine_state = (
            "engine: starting" if self.settings.engine_embedded else "engine: off (edit only)"
        )
        self._set_subtitle()

    def _set_subtitle(self) -> None:
        """Who acts, then what must not be missed (the sandbox marker, then what
        waits for this operator's approval): at 80 columns the rest is cut."""
        who = f"{self.identity.login} ({self.identity.role})" if self.identity.role else "…"
        sandbox = ["SANDBOX SMS"] if self.sandbox else []
        waiting = [f"{self.awaiting} to approve"] if self.awaiting else []
        parts = [who, *sandbox, *waiting, self.engine_state, self.database]
        self.sub_title = "  ·  ".join(parts)

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

    def action_help(self) -> None:
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.screen))
