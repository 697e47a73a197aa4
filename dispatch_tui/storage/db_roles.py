"""PostgreSQL's own roles for operators (issue 10: the database enforces who may do what).

Every operator connects as their own LOGIN role, named like their OS login
(peer authentication over the local socket), and is a member of exactly one
group role per app role; migration 0012 creates the groups, their grants and
the triggers that take actors from `session_user`. `users add|set-role|remove`
keep the LOGIN roles in step, inside the same transaction as the app's user
table. On SQLite (one trust domain) none of this exists.

The app and the CLI refuse a session whose database user is not the OS login,
except a superuser's: a superuser is above every grant and trigger anyway, and
is what an admin uses for `init` (migrations) and the first `init --admin`.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

GROUP_OF_ROLE = {
    "viewer": "dispatch_viewer",
    "dispatcher": "dispatch_dispatcher",
    "shift_lead": "dispatch_shift_lead",
    "admin": "dispatch_admin",
}
ENGINE_ROLE = "dispatch_engine"
WEB_ROLE = "dispatch_web"
"""The public web's group role (migrations 0017, 0019, 0021): reads public columns only,
asks functions about one account's proof or one token, writes sign-ups and their codes,
never contacts."""


def _literal(name: str) -> str:
    """`name` (already checked against users.USERNAME) as an SQL string literal."""
    return "'" + name.replace("'", "''") + "'"


def sync_login_role(conn: Connection, username: str, role: str | None) -> None:
    """Make `username`'s LOGIN role a member of `role`'s group only (none: of no group,
    the role itself stays: it is cluster-wide and may be someone's elsewhere). Admins get
    CREATEROLE, which `users` needs on PostgreSQL. Nothing on SQLite."""
    if conn.dialect.name != "postgresql":
        return
    target = GROUP_OF_ROLE[role] if role else ""
    groups = "ARRAY[" + ", ".join(_literal(g) for g in GROUP_OF_ROLE.values()) + "]"
    # Many databases share one cluster: whoever loses a race to create or grant the
    # same thing finds it done.
    conn.execute(
        text(f"""
DO $$
DECLARE
    who text := {_literal(username)};
    target text := {_literal(target)};
    grp text;
    member boolean;
    super boolean;
BEGIN
    BEGIN
        IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = who) THEN
            EXECUTE format('CREATE ROLE %I LOGIN', who);
        END IF;
    EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
    END;
    SELECT rolsuper INTO super FROM pg_roles WHERE rolname = who;
    FOREACH grp IN ARRAY {groups} LOOP
        SELECT EXISTS (
            SELECT FROM pg_auth_members m
            JOIN pg_roles g ON g.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
            WHERE g.rolname = grp AND u.rolname = who
        ) INTO member;
        IF grp = target AND NOT member THEN
            BEGIN
                EXECUTE format('GRANT %I TO %I', grp, who);
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
        ELSIF grp <> target AND member THEN
            EXECUTE format('REVOKE %I FROM %I', grp, who);
        END IF;
    END LOOP;
    IF NOT super AND (SELECT rolcreaterole FROM pg_roles WHERE rolname = who)
                     IS DISTINCT FROM (target = 'dispatch_admin') THEN
        EXECUTE format('ALTER ROLE %I %s', who,
                       CASE WHEN target = 'dispatch_admin' THEN 'CREATEROLE'
                            ELSE 'NOCREATEROLE' END);
    END IF;
END
$$""")
    )


def _session(conn: Connection) -> tuple[str, bool]:
    name, superuser = conn.execute(
        text("SELECT session_user, rolsuper FROM pg_roles WHERE rolname = session_user")
    ).one()
    return str(name), bool(superuser)


def identity_refusal(conn: Connection, login: str) -> str | None:
    """Why this PostgreSQL session may not act for OS login `login`, or None."""
    if conn.dialect.name != "postgresql":
        return None
    name, superuser = _session(conn)
    if superuser or name == login:
        return None
    return (
        f"you are {login} but the database session is {name}: connect as your own "
        f"database role (peer authentication, e.g. postgresql:///DBNAME with no user)"
    )


def engine_refusal(conn: Connection) -> str | None:
    """Why this PostgreSQL session may not run the delivery engine, or None."""
    if conn.dialect.name != "postgresql":
        return None
    name, superuser = _session(conn)
    member = conn.execute(
        text(
            "SELECT CASE WHEN EXISTS (SELECT FROM pg_roles WHERE rolname = :r) "
            "THEN pg_has_role(session_user, :r, 'MEMBER') ELSE false END"
        ),
        {"r": ENGINE_ROLE},
    ).scalar_one()
    if superuser or member:
        return None
    return (
        f"{name} may not send: only members of {ENGINE_ROLE} run the delivery engine; set "
        f"engine.embedded = false (the service account runs `dispatch-tui engine`) or ask an "
        f"admin to grant {ENGINE_ROLE}"
    )
