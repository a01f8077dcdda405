"""The portal's own login role: provisioned from the administrator's URL, and its session settings."""

from __future__ import annotations

import hashlib
import hmac

import psycopg
import sqlalchemy as sa
from psycopg import sql

PORTAL_ROLE = "territoire_portal"
ANALYST_ROLE = "territoire_analyst"  # resources.warehouse.ANALYST_ROLE (created by Warehouse.setup)


def portal_password(admin_url: str) -> str | None:
    """The portal role's password, derived from the administrator's: stable across processes and
    restarts with nothing stored, and known only to whoever knows the administrator's password. None
    when the administrator has no password (trust or peer authentication): the role gets none either."""
    password = sa.make_url(admin_url).password
    if not password:
        return None
    return hmac.new(str(password).encode(), b"territoire-portal-role", hashlib.sha256).hexdigest()


def provision_role(admin_url: str, statement_timeout_ms: int) -> str:
    """Create (or refresh) ``territoire_portal`` with the administrator's URL; the portal's libpq URL.

    The role logs in, inherits ``territoire_analyst`` (SELECT on ``published``), may read
    ``meta.publications`` (versions and dates), and its sessions are read-only with a statement
    timeout even if the portal's own settings were bypassed.
    """
    url = sa.make_url(admin_url).set(drivername="postgresql")
    password = portal_password(admin_url)
    role = sql.Identifier(PORTAL_ROLE)
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtext('territoire/portal-role'))")
            if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (ANALYST_ROLE,)).fetchone():
                raise LookupError(
                    f"Le rôle {ANALYST_ROLE} n'existe pas : lancez d'abord « territoire run » (ou la mise en "
                    "place de l'entrepôt) pour que le portail ait quelque chose à lire."
                )
            conn.execute(
                sql.SQL(
                    "DO $$ BEGIN CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; "
                    "EXCEPTION WHEN duplicate_object THEN NULL; END $$"
                ).format(role)
            )
            conn.execute(sql.SQL("ALTER ROLE {} PASSWORD {}").format(role, sql.Literal(password)))
            conn.execute(sql.SQL("ALTER ROLE {} SET default_transaction_read_only = on").format(role))
            conn.execute(
                sql.SQL("ALTER ROLE {} SET statement_timeout = {}").format(
                    role, sql.Literal(f"{int(statement_timeout_ms)}ms")
                )
            )
            conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(ANALYST_ROLE), role))
            conn.execute(sql.SQL("GRANT USAGE ON SCHEMA meta TO {}").format(role))
            conn.execute(sql.SQL("GRANT SELECT ON meta.publications TO {}").format(role))
    portal = url.set(username=PORTAL_ROLE, password=password)
    return portal.render_as_string(hide_password=False)


def session_settings(statement_timeout_ms: int) -> list[sql.Composable]:
    """Run on every new pooled connection."""
    return [
        sql.SQL("SET statement_timeout = {}").format(sql.Literal(f"{int(statement_timeout_ms)}ms")),
        sql.SQL("SET idle_in_transaction_session_timeout = '60s'"),
        sql.SQL("SET default_transaction_read_only = on"),
        sql.SQL("SET TIME ZONE 'Europe/Paris'"),
    ]


async def whoami(conn: psycopg.AsyncConnection) -> tuple[str, bool]:
    row = await (
        await conn.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user")
    ).fetchone()
    return row[0], row[1]
