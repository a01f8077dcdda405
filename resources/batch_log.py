"""``meta.batches`` read without the warehouse resource: for ``territoire status``, which must answer at once.

The warehouse (``resources/warehouse.py``) writes the batch log and is a Dagster resource with pandas and
SQLAlchemy behind it, seconds of imports; reading one table needs only psycopg. Same URL resolution as
the warehouse: ``TERRITOIRE_WAREHOUSE_URL``, else the embedded cluster under the home.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

OWNER_ROLE = "territoire_owner"  # the warehouse's owner role, which may read meta


def warehouse_url(home: Path) -> str:
    """The warehouse's SQLAlchemy URL (it may embed a password: never print it)."""
    url = os.environ.get("TERRITOIRE_WAREHOUSE_URL")
    if url:
        return url
    from resources.postgres_server import ensure_server

    return ensure_server(home)


def read_batches(url: str) -> list[dict[str, Any]]:
    """Every row of ``meta.batches``, oldest first; none when the warehouse was never set up."""
    import psycopg
    from psycopg.rows import dict_row

    conninfo = re.sub(r"^postgresql\+\w+://", "postgresql://", url)
    with psycopg.connect(conninfo, row_factory=dict_row, connect_timeout=10) as conn:
        member = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s AND pg_has_role(current_user, oid, 'MEMBER')",
            (OWNER_ROLE,),
        ).fetchone()
        if member:
            conn.execute(f'SET ROLE "{OWNER_ROLE}"')
        if conn.execute("SELECT to_regclass('meta.batches') AS t").fetchone()["t"] is None:
            return []
        return conn.execute("SELECT * FROM meta.batches ORDER BY received_at, recorded_at").fetchall()


def read_holds(url: str) -> list[dict[str, Any]]:
    """Held versions of ``meta.publications`` as ``Warehouse.holds`` returns them; none before setup."""
    import psycopg
    from psycopg.rows import dict_row

    from quality.holds import recorded_holds

    conninfo = re.sub(r"^postgresql\+\w+://", "postgresql://", url)
    with psycopg.connect(conninfo, row_factory=dict_row, connect_timeout=10) as conn:
        member = conn.execute(
            "SELECT 1 FROM pg_roles WHERE rolname = %s AND pg_has_role(current_user, oid, 'MEMBER')",
            (OWNER_ROLE,),
        ).fetchone()
        if member:
            conn.execute(f'SET ROLE "{OWNER_ROLE}"')
        if conn.execute("SELECT to_regclass('meta.publications') AS t").fetchone()["t"] is None:
            return []
        rows = conn.execute(
            "SELECT dataset, version, diff FROM meta.publications WHERE status = 'held' "
            "ORDER BY dataset, version"
        ).fetchall()
    result = []
    for row in rows:
        holds = recorded_holds(row["diff"])
        result.append(
            {
                "dataset": row["dataset"],
                "version": row["version"],
                "producers": [h["producer"] for h in holds],
                "holds": holds,
            }
        )
    return result
