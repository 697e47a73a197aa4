"""The command line: `dispatch-tui` starts the app; subcommands set up and
feed the database.

Every expected failure (bad config, a database from a newer version, a
rejected CSV file, a database that cannot be reached, opened or locked, a
data directory that cannot be made) ends with a message and exit status 1
or 2, never a traceback. The app is started only after its database has
answered, so the same holds for it.

Who acts is the OS user of the process's real uid (os_user.current_login):
LOGNAME and USER are anyone's to set, so they are never asked.
"""

from __future__ import annotations

import shlex
import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from dispatch_tui import __version__
from dispatch_tui.config import (
    ConfigError,
    Settings,
    database_url_of,
    describe,
    init_report_token,
    load_settings,
)
from dispatch_tui.engine.log_setup import LOG_FORMATS
from dispatch_tui.kannel import doctor
from dispatch_tui.os_user import current_login
from dispatch_tui.storage import audit, audit_anchor, db_roles, migrate, users
from dispatch_tui.storage.db import SETTING, DatabaseError, create_db_engine, explain
from dispatch_tui.storage.importers import (
    IMPORTERS,
    SNAPSHOT_KINDS,
    ImportFailed,
    ImportRefused,
    import_file,
)
from dispatch_tui.storage.models import ROLES

err = Console(stderr=True)
out = Console()


DATABASE_HELP = (
    "The database: a SQLite file or a URL (over database.url of the config files and "
    "the environment)."
)


class Context:
    """Settings are loaded lazily so `--help` works even with a broken config."""

    def __init__(self, config_path: Path | None, database: str | None = None) -> None:
        self.config_path = config_path
        self.database = database
        """`--database` as typed, on the group or on the command (the command's wins)."""
        self._settings: Settings | None = None
        self.url: str | None = None
        """The database last opened, for naming it when it fails."""

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            settings = load_settings(self.config_path)
            if self.database is not None:
                settings = settings.with_database(database_url_of(self.database), "--database")
            self._settings = settings
        return self._settings

    def database_flag(self) -> str:
        """` --database …` for a suggested command line, when this run was given one."""
        return f" --database {shlex.quote(self.database)}" if self.database else ""

    def engine(self, url: str | None = None, *, chosen_by: str = SETTING) -> Engine:
        settings = self.settings
        # Whatever opens the database may audit or anchor: with the configured key file
        # and anchor places, not the defaults.
        audit_anchor.configure(settings)
        self.url = url or settings.database_url
        timeout = settings.database_busy_timeout_ms
        return create_db_engine(
            self.url, busy_timeout_ms=timeout, chosen_by=chosen_by, group=settings.database_group
        )

    def explain(self, error: BaseException) -> str | None:
        """`error` as one line naming the database, if it is database trouble."""
        if self.url is None:
            return None
        timeout = self.settings.database_busy_timeout_ms
        return explain(error, self.url, busy_timeout_ms=timeout)

    def ready_engine(self, url: str | None = None) -> Engine:
        """An engine on a database whose schema this version can use; an empty one is
        named with where its URL came from, since another database may have been meant."""
        engine = self.engine(url)
        if url is None and migrate.current_revision(engine) is None:
            where = engine.url.render_as_string(hide_password=True)
            source = self.settings.sources.get("database.url", "default")
            fail(
                f"{where} (database.url from {source}) has no dispatch-tui schema yet: "
                f"run `dispatch-tui init{self.database_flag()}` to create it, "
                "or name the database meant with --database FILE|URL"
            )
        migrate.check_schema(engine)
        check_identity(engine)
        return engine


def check_identity(engine: Engine, *, sends: bool = False) -> None:
    """On PostgreSQL the database user must be the OS login (a superuser excepted, see
    storage.db_roles), and whoever sends must hold the engine's role."""
    with engine.connect() as conn:
        refusal = db_roles.identity_refusal(conn, current_login())
        if refusal is None and sends:
            refusal = db_roles.engine_refusal(conn)
    if refusal is not None:
        fail(refusal)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print `message` unwrapped (a one-line message stays one line) and exit."""
    err.print(f"[bold red]error:[/] {escape(message)}", highlight=False, soft_wrap=True)
    sys.exit(code)


Command = TypeVar("Command", bound=Callable[..., Any])


def _remember_database(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(Context).database = value


def database_option(command: Command) -> Command:
    """`--database` on a subcommand: a shared host's operators name the database where they
    type the command (`dispatch-tui users list --database …`), not only before it."""
    option = click.option(
        "--database",
        metavar="FILE|URL",
        expose_value=False,
        callback=_remember_database,
        help=DATABASE_HELP,
    )
    return option(command)


class Group(click.Group):
    """Turns the errors a person can fix into one clear line."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ConfigError as exc:
            fail(f"configuration: {exc}", 2)
        except DatabaseError as exc:
            fail(str(exc))
        except ImportFailed as exc:
            fail(exc.report())
        except ImportRefused as exc:
            fail(str(exc))
        except users.UserError as exc:
            fail(str(exc))
        except (DBAPIError, sqlite3.Error) as error:
            message = ctx.obj.explain(error) if isinstance(ctx.obj, Context) else None
            if message is None:
                raise
            fail(message)


@click.group(cls=Group, invoke_without_command=True)
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Settings file layered over the user's config file (see `config show`).",
)
@click.option("--database", "database", metavar="FILE|URL", help=DATABASE_HELP)
@click.version_option(__version__, prog_name="dispatch-tui")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, database: str | None) -> None:
    """Planned-outage notices for electricity distribution control rooms."""
    ctx.obj = Context(config_path, database)
    if ctx.invoked_subcommand is None:
        engine = ctx.obj.ready_engine()
        check_identity(engine, sends=ctx.obj.settings.engine_embedded)
        run_app(engine, ctx.obj.settings)


def run_app(engine: Engine, settings: Settings) -> None:
    from dispatch_tui.app import DispatchApp, tune_gc

    tune_gc()
    DispatchApp(engine, sandbox=settings.sms_gateway == "sandbox", settings=settings).run()


@main.command("engine")
@database_option
@click.option(
    "-v", "--verbose", is_flag=True, help="Also log each delivery report and inbound message."
)
@click.option(
    "--log-format",
    type=click.Choice(LOG_FORMATS),
    default="text",
    show_default=True,
    help="json: one JSON object a line (time, level, logger, message, fields).",
)
@click.option(
    "--check",
    is_flag=True,
    help="Only check the database, the gateways and the engines' heartbeats: "
    "exit 0 when well, else 1 with one line per problem.",
)
@click.pass_obj
def engine_command(obj: Context, verbose: bool, log_format: str, check: bool) -> None:
    """Run the delivery engine without a screen (for a server), with the
    delivery-report listener and /metrics; stops cleanly on SIGTERM or Ctrl+C."""
    import asyncio

    from dispatch_tui.engine import health_check, log_setup
    from dispatch_tui.engine.headless import run_headless

    if check:
        result = health_check.run(obj.settings, obj.engine, obj.explain)
        for line in result.problems:
            err.print(escape(line), highlight=False, soft_wrap=True)
        if result.problems:
            sys.exit(1)
        out.print(escape("ok: " + "; ".join(result.fine)), highlight=False, soft_wrap=True)
        return
    db = obj.ready_engine()  # before logging starts: Alembic's INFO lines are no news
    check_identity(db, sends=True)
    log_setup.configure(verbose=verbose, log_format=log_format)
    asyncio.run(run_headless(db, obj.settings))


@main.command("web")
@database_option
@click.pass_obj
def web_command(obj: Context) -> None:
    """Serve the public planned-works pages and feeds, sign-up by code, unsubscribe links
    and printable notices (web.* settings); its own port; stops cleanly on SIGTERM or
    Ctrl+C."""
    import asyncio
    import logging

    from dispatch_tui.web.csrf import SecretError
    from dispatch_tui.web.server import run_web

    db = obj.ready_engine()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        asyncio.run(run_web(db, obj.settings))
    except SecretError as exc:
        raise click.ClickException(str(exc)) from None


@main.command()
@database_option
@click.option("--admin", "admin", metavar="LOGIN", help="Make LOGIN the first admin.")
@click.pass_obj
def init(obj: Context, admin: str | None) -> None:
    """Create the database or upgrade it to this version's schema."""
    key_note = audit.init_key(obj.settings.audit_key_file)
    engine = obj.engine()
    check_identity(engine)
    before = migrate.current_revision(engine)
    migrate.init_database(engine)
    where = engine.url.render_as_string(hide_password=True)
    state = (
        "created"
        if before is None
        else "upgraded"
        if before != migrate.head_revision()
        else "up to date"
    )
    out.print(f"{where}: schema {migrate.head_revision()} ({state})", highlight=False)
    if key_note is not None:
        out.print(key_note, highlight=False, soft_wrap=True)
    audit_anchor.anchor(engine, reason="init")
    # With a headless engine the token is its service account's (`config token`), not the
    # account that ran init (on a shared host, the database superuser).
    if obj.settings.engine_embedded and (note := init_report_token(obj.settings)) is not None:
        out.print(note, highlight=False, soft_wrap=True)
    if admin and users.bootstrap_admin(engine, admin, actor=current_login()):
        out.print(f"{admin} is now an admin", highlight=False)


@main.group("users")
def users_group() -> None:
    """Operators and roles (admins only). Who runs the command is the OS user of
    the process's real uid; LOGNAME and USER are not asked."""


ROLE = click.Choice(list(ROLES))


def users_engine(obj: Context) -> Engine:
    """The database of a `users` command; before its first admin nobody may change users,
    so the command says how the first one is made instead of refusing the caller."""
    engine = obj.ready_engine()
    with engine.connect() as conn:
        if not users.admin_count(conn):
            where = engine.url.render_as_string(hide_password=True)
            fail(
                f"{where} has no admin yet: make the first one with "
                f"`dispatch-tui init{obj.database_flag()} --admin LOGIN` "
                "(LOGIN: the OS login of who will manage users)"
            )
    return engine


@users_group.command("list")
@database_option
@click.pass_obj
def users_list(obj: Context) -> None:
    """List operators and their roles."""
    with users_engine(obj).connect() as conn:
        for operator in users.list_operators(conn):
            click.echo(f"{operator.username:<24} {operator.role}")


@users_group.command("add")
@database_option
@click.argument("login")
@click.argument("role", type=ROLE)
@click.pass_obj
def users_add(obj: Context, login: str, role: str) -> None:
    """Add an operator with a role."""
    users.add_operator(users_engine(obj), login, role, actor=current_login())
    click.echo(f"added {login} as {role}")


@users_group.command("set-role")
@database_option
@click.argument("login")
@click.argument("role", type=ROLE)
@click.pass_obj
def users_set_role(obj: Context, login: str, role: str) -> None:
    """Change an operator's role."""
    users.set_role(users_engine(obj), login, role, actor=current_login())
    click.echo(f"{login} is now {role}")


@users_group.command("remove")
@database_option
@click.argument("login")
@click.pass_obj
def users_remove(obj: Context, login: str) -> None:
    """Remove an operator (their past decisions stay in the audit log)."""
    users.remove_operator(users_engine(obj), login, actor=current_login())
    click.echo(f"removed {login}")


@contextmanager
def progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback (stage, done, total) drawing one bar per stage on stderr."""
    columns = (TextColumn("{task.description:>16}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=err, transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def report(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield report


@main.command("import")
@database_option
@click.argument("kind", type=click.Choice(list(IMPORTERS)))
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--as-of",
    metavar="'YYYY-MM-DD[ HH:MM]'",
    help="balances: the snapshot's moment in the utility's local time (default: now).",
)
@click.option(
    "--utility",
    "utility_code",
    metavar="CODE",
    help="balances: the utility the snapshot is for (needed when there are several).",
)
@click.pass_obj
def import_command(
    obj: Context, kind: str, file: Path, as_of: str | None, utility_code: str | None
) -> None:
    """Import utilities, the network, metering points, subscribers or a balances
    snapshot from CSV.

    All or nothing: one bad row and nothing is written. Importing the same
    file again changes nothing (balances: each import is a new snapshot, never
    older than the newest). Column formats are in the README.
    """
    options = {"as_of": as_of, "utility_code": utility_code}
    if kind not in SNAPSHOT_KINDS and any(value is not None for value in options.values()):
        fail(f"--as-of and --utility apply to `import {'|'.join(SNAPSHOT_KINDS)}` only")
    engine = obj.ready_engine()
    with progress_bar() as progress:
        summary = import_file(
            engine,
            kind,
            file,
            actor=current_login(),
            progress=progress,
            **(options if kind in SNAPSHOT_KINDS else {}),
        )
    out.print(str(summary), highlight=False)


@main.command()
@click.option(
    "--size",
    type=click.Choice(["small", "large"]),
    default="small",
    show_default=True,
    help="small: ~20,000 metering points; large: ~1,000,000.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Same seed, same data.")
@click.option(
    "--database",
    "database",
    type=click.Path(path_type=Path, dir_okay=False),
    help="SQLite file for the demo (default: demo-<size>.sqlite in the user data dir).",
)
@click.option("--rebuild", is_flag=True, help="Build a fresh demo database even if one exists.")
@click.option("--no-app", is_flag=True, help="Only build the database.")
@click.pass_obj
def demo(
    obj: Context, size: str, seed: int, database: Path | None, rebuild: bool, no_app: bool
) -> None:
    """Build a demo database (three utilities: SI, UA, BG) and start the app on it."""
    import platformdirs

    from dispatch_tui.storage.demo import build_demo

    default = platformdirs.user_data_path("dispatch-tui") / f"demo-{size}-{seed}.sqlite"
    path = (database or default).expanduser().absolute()
    url = f"sqlite:///{path}"
    if rebuild or not path.exists():
        engine = obj.engine(url, chosen_by="--database")  # makes the directory, or says why not
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        migrate.init_database(engine)
        with progress_bar() as progress:
            summary = build_demo(engine, size=size, seed=seed, progress=progress)
        out.print(
            f"demo database {path}: {summary.metering_points:,} metering points, "
            f"{summary.subscribers:,} subscribers, built in {summary.seconds:.1f} s",
            highlight=False,
        )
    else:
        engine = obj.ready_engine(url)
        out.print(f"demo database {path} (use --rebuild for a fresh one)", highlight=False)
    if not no_app:
        # A demo never reaches real people, whatever the config says.
        run_app(engine, obj.settings.sandboxed())
    # After the app: its screen hides what was printed before it.
    out.print(demo_hint(path), highlight=False, soft_wrap=True)


def demo_hint(path: Path) -> str:
    """How the other commands reach the demo database: without it they open the configured
    one (and would say it needs `init`)."""
    flag = f"--database {shlex.quote(str(path))}"
    url = shlex.quote(f"sqlite:///{path}")
    return (
        f"Other commands on the demo database take {flag}, e.g.\n"
        f"  dispatch-tui users list {flag}\n"
        f"  dispatch-tui audit verify {flag}\n"
        f"or, for this shell: export DISPATCH_TUI_DATABASE_URL={url}"
    )


@main.group()
def config() -> None:
    """Inspect the settings."""


@config.command("show")
@database_option
@click.pass_obj
def config_show(obj: Context) -> None:
    """Print the effective settings and where each one came from."""
    rows = describe(obj.settings)
    width = max(len(f"{key} = {value}") for key, value, _source in rows)
    for key, value, source in rows:
        click.echo(f"{f'{key} = {value}':<{width}}  # {source}")


@config.command("token")
@click.pass_obj
def config_token(obj: Context) -> None:
    """Write a fresh engine.report_token to this user's config file (mode 0600) when none
    is configured: what the engine's service account runs once on a shared host."""
    note = init_report_token(obj.settings)
    out.print(note or "engine.report_token is already set", highlight=False, soft_wrap=True)


@main.command("doctor")
@click.option(
    "--kannel-conf",
    type=click.Path(path_type=Path, dir_okay=False),
    default=str(doctor.DEFAULT_CONF),
    show_default=True,
    help="The kannel.conf Kannel runs with (concatenation, max-messages, mo-recode).",
)
@click.pass_obj
def doctor_command(obj: Context, kannel_conf: Path) -> None:
    """Check the Kannel of sms.kannel_url: one line per check, ok or FAIL with what to
    change; exit status 1 if any failed."""
    checks = doctor.run_checks(obj.settings, kannel_conf)
    for check in checks:
        out.print(check.line(), highlight=False, soft_wrap=True, markup=False)
    if not all(check.ok for check in checks):
        sys.exit(1)


@main.group("audit")
def audit_group() -> None:
    """The hash-chained audit log."""


@audit_group.command("seal")
@database_option
@click.pass_obj
def audit_seal(obj: Context) -> None:
    """Seal the audit rows written by operators who may not read the key (a running engine
    does this every few seconds); run it as the key's holder."""
    engine = obj.ready_engine()
    sealed = audit_anchor.seal_and_anchor(engine)
    if sealed is None:
        fail(f"{audit.key_file()}: this account cannot read the audit key; run as its holder")
    out.print(f"{sealed.rows} audit row(s) sealed", highlight=False)


@audit_group.command("verify")
@database_option
@click.option(
    "--anchors",
    "more_anchors",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="More anchors to compare with: another anchor file, or `journalctl -t dispatch-tui`.",
)
@click.pass_obj
def audit_verify(obj: Context, more_anchors: tuple[Path, ...]) -> None:
    """Check every audit row against the keyed chain and the anchors kept outside the
    database; name the first row that does not fit."""
    settings = obj.settings
    engine = obj.ready_engine()
    key = audit.load_key(Path(settings.audit_key_file).expanduser(), create=False)
    anchors = audit_anchor.anchors_of(engine, audit_anchor.targets_from(settings))
    label = audit_anchor.database_label(engine.url)
    for path in more_anchors:
        anchors += audit_anchor.read_anchors(path, label)
    with engine.connect() as conn:
        result = audit.verify(conn, key, anchors)
    if not result.ok:
        fail(result.message)
    out.print(result.message, highlight=False)


@main.command("backup")
@database_option
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Replace PATH if it exists.")
@click.pass_obj
def backup_command(obj: Context, path: Path, force: bool) -> None:
    """Copy the SQLite database to PATH while the app and engines keep working, then
    open the copy and verify it (audit chain included). PostgreSQL: use pg_dump."""
    from dispatch_tui.storage import backup

    engine = obj.ready_engine()
    if engine.dialect.name != "sqlite":
        fail(backup.POSTGRESQL)
    settings = obj.settings
    key, note = backup.readable_key(Path(settings.audit_key_file).expanduser())
    anchors = audit_anchor.anchors_of(engine, audit_anchor.targets_from(settings))
    try:
        report = backup.backup(
            engine,
            path,
            actor=current_login(),
            key=key,
            anchors=anchors,
            group=settings.database_group,
            force=force,
            key_note=note,
        )
    except backup.BackupError as exc:
        fail(str(exc))
    out.print(report.text(), highlight=False, soft_wrap=True)
    if report.audit is not None and not report.audit.ok:
        sys.exit(1)


@main.group("export")
def export_group() -> None:
    """Records for others (regulators, claims)."""


@export_group.command("evidence")
@database_option
@click.argument("outage", type=click.IntRange(min=1))
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV file (mode 0600), the summary beside it; default: CSV to stdout, summary to stderr.",
)
@click.option("--force", is_flag=True, help="Replace the output files if they exist.")
@click.pass_obj
def export_evidence(obj: Context, outage: int, output: Path | None, force: bool) -> None:
    """Delivery evidence of OUTAGE as CSV: every message with each attempt, the gateway's
    answer and delivery report, addresses masked; and a summary. Recorded in the audit log."""
    from dispatch_tui.storage import evidence

    engine = obj.ready_engine()
    try:
        if output is None:
            summary = evidence.export_evidence(engine, outage, sys.stdout, actor=current_login())
            err.print(summary.text(), highlight=False, soft_wrap=True, end="")
            return
        summary = evidence.export_evidence_file(
            engine, outage, output, actor=current_login(), force=force
        )
    except evidence.OutputExists as exc:
        fail(f"{exc}, or pass --force to replace it")
    except evidence.EvidenceError as exc:
        fail(str(exc))
    out.print(summary.text(), highlight=False, soft_wrap=True, end="")
    beside = evidence.summary_path(output.expanduser())
    out.print(
        f"written to {output} (summary: {beside}), readable by you only",
        highlight=False,
        soft_wrap=True,
    )


@export_group.command("readings")
@database_option
@click.option("--period", required=True, help="The month the readings are for, like 2026-11.")
@click.option("--utility", "utility_code", help="Only this utility's (its code); default: all.")
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path, dir_okay=False),
    help="CSV file (mode 0600); default: stdout.",
)
@click.option("--force", is_flag=True, help="Replace the output file if it exists.")
@click.pass_obj
def export_readings(
    obj: Context, period: str, utility_code: str | None, output: Path | None, force: bool
) -> None:
    """The meter readings accepted for a period as CSV, one row per metering point,
    with its channel and time: for billing."""
    from dispatch_tui.storage import reading_export
    from dispatch_tui.storage.evidence import EvidenceError, OutputExists

    engine = obj.ready_engine()
    try:
        if output is None:
            reading_export.export_readings(
                engine, period, sys.stdout, actor=current_login(), utility_code=utility_code
            )
            return
        rows = reading_export.export_readings_file(
            engine, period, output, actor=current_login(), utility_code=utility_code, force=force
        )
    except OutputExists as exc:
        fail(f"{exc}, or pass --force to replace it")
    except (reading_export.ReadingExportError, EvidenceError) as exc:
        fail(str(exc))
    out.print(f"{rows} reading(s) written to {output}", highlight=False, soft_wrap=True)


@export_group.command("stats")
@database_option
@click.option("--month", required=True, help="The month, YYYY-MM (each utility's local month).")
@click.pass_obj
def export_stats(obj: Context, month: str) -> None:
    """The account services' figures of a month per utility as CSV: registrations per
    service, reminders sent and delivered, bill checks by outcome."""
    from dispatch_tui.storage import service_stats

    try:
        first = service_stats.parse_month(month)
    except ValueError as exc:
        fail(f"--month: {exc}")
    with obj.ready_engine().connect() as conn:
        figures = service_stats.monthly(conn, first)
    service_stats.write_csv(figures, first, sys.stdout)


@export_group.command("notices")
@database_option
@click.argument("outage_id", metavar="OUTAGE", type=click.IntRange(min=1))
@click.option(
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="The PDF to write (default: ~/dispatch-tui-notices-outage-OUTAGE.pdf), mode 0600.",
)
@click.pass_obj
def export_notices(obj: Context, outage_id: int, output: Path | None) -> None:
    """The entrance notices of an approved outage as one PDF: an A4 page per building
    entrance, to print and post where people without a phone will see them."""
    from dispatch_tui.printable.entrance_notices import default_pdf_path, write_pdf
    from dispatch_tui.storage.outages import OutageError

    engine = obj.ready_engine()
    try:
        path, pages = write_pdf(engine, outage_id, output or default_pdf_path(outage_id))
    except OutageError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"{output}: cannot write the PDF: {exc.strerror or exc}")
    out.print(f"{pages} entrance notice(s) written to {path}", highlight=False, soft_wrap=True)
