"""``meta.batches`` read without the warehouse resource: for ``territoire status``, which must answer at once.

The warehouse (``resources/warehouse/``) writes the batch log and is a Dagster resource with pandas and
SQLAlchemy behind it, seconds of imports; reading one table needs only psycopg. Same URL resolution as
the warehouse: ``TERRITOIRE_WAREHOUSE_URL``, else the embedded cluster under the home.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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
    with _connect(url) as conn:
        if conn.execute("SELECT to_regclass('meta.batches') AS t").fetchone()["t"] is None:
            return []
        return conn.execute("SELECT * FROM meta.batches ORDER BY received_at, recorded_at").fetchall()


def read_holds(url: str) -> list[dict[str, Any]]:
    """Held versions of ``meta.publications`` as ``Warehouse.holds`` returns them; none before setup."""
    with _connect(url) as conn:
        if conn.execute("SELECT to_regclass('meta.publications') AS t").fetchone()["t"] is None:
            return []
        rows = conn.execute(
            "SELECT dataset, version, diff FROM meta.publications WHERE status = 'held' "
            "ORDER BY dataset, version"
        ).fetchall()
    return [held_version(row["dataset"], row["version"], row["diff"]) for row in rows]


def read_run_state(url: str) -> dict[str, Any] | None:
    """What ``territoire run`` needs to know whether anything waits, in one connection: the receipts
    taken per partition, the tables with a loaded batch, every batch's report key, each table's current
    version and the held versions; None when the warehouse was never set up (a run must set it up)."""
    with _connect(url) as conn:
        present = conn.execute(
            "SELECT to_regclass('meta.batches') AS b, to_regclass('meta.publications') AS p"
        ).fetchone()
        if present["b"] is None or present["p"] is None:
            return None
        batches = conn.execute(
            "SELECT batch_id, dataset, producer, sequence, status FROM meta.batches"
        ).fetchall()
        current = conn.execute(
            "SELECT DISTINCT ON (dataset) dataset, version FROM meta.publications "
            "WHERE status IN ('published', 'approved') ORDER BY dataset, version DESC"
        ).fetchall()
        held = conn.execute(
            "SELECT dataset, version, diff FROM meta.publications WHERE status = 'held' "
            "ORDER BY dataset, version"
        ).fetchall()
    return {
        "sequences_seen": sequences_by_partition(
            (row["dataset"], row["producer"], row["sequence"]) for row in batches
        ),
        "loaded": {row["dataset"] for row in batches if row["status"] == "loaded"},
        "batches": [{k: row[k] for k in ("batch_id", "dataset", "producer")} for row in batches],
        "current": {row["dataset"]: int(row["version"]) for row in current},
        "holds": [held_version(row["dataset"], row["version"], row["diff"]) for row in held],
    }


def sequences_by_partition(rows: Iterable[tuple[str, str, int | None]]) -> dict[tuple[str, str], set[int]]:
    """The drop sequence numbers taken, by (dataset, producer), from ``meta.batches`` rows (dataset,
    producer, sequence); batches without a sequence (before sequences were recorded) take none."""
    seen: dict[tuple[str, str], set[int]] = {}
    for dataset, producer, sequence in rows:
        if sequence is not None:
            seen.setdefault((dataset, producer), set()).add(int(sequence))
    return seen


def held_version(dataset: str, version: int, diff: dict[str, Any]) -> dict[str, Any]:
    """One held version: ``{dataset, version, producers, holds}`` (``Warehouse.holds`` gives these too)."""
    from quality.holds import recorded_holds

    holds = recorded_holds(diff)
    return {
        "dataset": dataset,
        "version": int(version),
        "producers": [h["producer"] for h in holds],
        "holds": holds,
    }


@contextmanager
def _connect(url: str) -> Iterator[Any]:
    """A psycopg connection (rows as dicts) as the owner role when the login may become it."""
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
        yield conn
