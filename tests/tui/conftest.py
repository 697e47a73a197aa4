"""A small fixed database for the screens: the CSV sample network, four
operators, and helpers to start the app as one of them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine
from textual.app import App
from textual.screen import Screen
from textual.widgets import Input
from textual.worker import WorkerCancelled

from dispatch_tui.app import DispatchApp
from dispatch_tui.config import load_settings
from dispatch_tui.storage import users
from dispatch_tui.storage.db import create_db_engine
from tests.storage.csvdata import load_all

OPERATORS = {"ana": "dispatcher", "bohdan": "shift_lead", "olena": "shift_lead", "viktor": "viewer"}


@pytest.fixture(scope="session")
def tui_template(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> Path:
    directory = tmp_path_factory.mktemp("tui")
    path = directory / "tui.sqlite"
    shutil.copyfile(sqlite_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    load_all(engine, directory)
    users.bootstrap_admin(engine, "root", actor="root")
    for login, role in OPERATORS.items():
        users.add_operator(engine, login, role, actor="root")
    engine.dispose()
    return path


@pytest.fixture
def tui_engine(tui_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "tui.sqlite"
    shutil.copyfile(tui_template, path)
    engine = create_db_engine(f"sqlite:///{path}")
    yield engine
    engine.dispose()


def make_app(engine: Engine, login: str, *, embedded: bool = False) -> DispatchApp:
    """The app on test settings; the delivery engine only where a test asks for it,
    so that screens are tested against data that does not change under them."""
    env = {"DISPATCH_TUI_ENGINE_EMBEDDED": "true" if embedded else "false"}
    return DispatchApp(
        engine,
        sandbox=True,
        settings=load_settings(env=env, user_file=Path("/nonexistent/config.toml")),
        login=login,
    )


def fill_form(
    screen: Screen[object],
    *,
    title: str = "Zamenjava TP",
    reason: str = "vzdrževalna dela",
    start: str = "2031-04-01 08:00",
    end: str = "2031-04-01 12:00",
) -> None:
    """Type a whole draft into the drafting form (times are local)."""
    for field, value in (("title", title), ("reason", reason), ("start", start), ("end", end)):
        screen.query_one(f"#{field}", Input).value = value


async def workers_done(app: App[None]) -> None:
    """Every worker finished. One cancelled meanwhile was replaced by a newer one
    of its group (an exclusive worker, such as the approval alert's read on a
    change signal): the next pass waits for that one."""
    for _ in range(20):
        try:
            await app.workers.wait_for_complete()
            return
        except WorkerCancelled:
            continue
    await app.workers.wait_for_complete()
