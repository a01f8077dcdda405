"""Reaching the warehouse: which URL, the pooled engine and its role, one transaction at a time."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import psycopg
import sqlalchemy as sa
from psycopg import sql

from quality.url_mask import mask_url, scrub_password
from resources.batch_log import OWNER_ROLE
from resources.postgres_server import ensure_server

# Dagster builds a fresh resource for every run; within one process (``territoire run``, a test
# session) the connection pool is shared instead of being rebuilt for each of the dozens of
# partition runs.
_ENGINES: dict[str, sa.Engine] = {}


def resolve_url(url: str | None, home: str | None) -> str:
    """``url``, else ``TERRITOIRE_WAREHOUSE_URL``, else the embedded cluster under ``home``
    (``TERRITOIRE_HOME``, else ``./var``), started if need be. It may embed a password: never log it."""
    url = url or os.environ.get("TERRITOIRE_WAREHOUSE_URL")
    if not url:
        url = ensure_server(Path(home or os.environ.get("TERRITOIRE_HOME") or "var"))
    return url


def pooled_engine(url: str) -> sa.Engine:
    """The process's pooled SQLAlchemy engine for ``url``.

    Each new connection switches to the owner role if it may, and to Paris time: a producer's
    datetime without offset is local time, and analysts read timestamps in local time.
    """
    if url in _ENGINES:
        return _ENGINES[url]
    engine = sa.create_engine(url, pool_pre_ping=True)

    @sa.event.listens_for(engine, "connect")
    def _become_owner(dbapi_connection, _record):
        with dbapi_connection.cursor() as cur:
            cur.execute(
                "SELECT 1 FROM pg_roles WHERE rolname = %s AND pg_has_role(current_user, oid, 'MEMBER')",
                (OWNER_ROLE,),
            )
            if cur.fetchone():
                cur.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(OWNER_ROLE)))
            cur.execute("SET TIME ZONE 'Europe/Paris'")
        dbapi_connection.commit()

    _ENGINES[url] = engine
    return engine


@contextmanager
def transaction(engine: sa.Engine, url: str) -> Iterator[psycopg.Connection]:
    """A psycopg connection of ``engine`` inside one transaction: committed on success, rolled back
    on error. A failure to connect, or a connection lost midway, becomes a ``ConnectionError`` whose
    text shows ``url`` with its password masked."""
    try:
        raw = engine.raw_connection()
    except (sa.exc.OperationalError, psycopg.OperationalError) as exc:
        reason = str(getattr(exc, "orig", None) or exc)
        raise ConnectionError(
            f"Connexion à l'entrepôt impossible ({mask_url(url)}) : {scrub_password(reason, url)}"
        ) from None
    conn: psycopg.Connection = raw.driver_connection
    try:
        yield conn
        conn.commit()
    except psycopg.OperationalError as exc:
        # The server went away mid-transaction (restart, network): nothing was committed.
        with contextlib.suppress(psycopg.Error):
            conn.rollback()
        raise ConnectionError(
            f"Connexion à l'entrepôt perdue ({mask_url(url)}) : {scrub_password(str(exc), url)} ; "
            "rien n'a été enregistré, relancez le traitement."
        ) from None
    except BaseException:
        conn.rollback()
        raise
    finally:
        raw.close()


def frame(
    conn: psycopg.Connection, query: str | sql.Composable, params: dict[str, Any] | None = None
) -> pd.DataFrame:
    """The rows of ``query`` as a DataFrame, named after the result's columns."""
    with conn.cursor() as cur:
        cur.execute(query, params)
        names = [d.name for d in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=names)
