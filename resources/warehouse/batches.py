"""``meta.batches`` bookkeeping: one row per received file (``BatchRecord``) and what is asked of it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime

import psycopg
from psycopg import sql

from resources.batch_log import sequences_by_partition


@dataclass
class BatchRecord:
    """One row of ``meta.batches``: one received file and what became of it.

    Conservation holds always: ``rows_read == rows_accepted + rows_quarantined`` (a CHECK enforces it).
    """

    batch_id: str
    producer: str
    dataset: str
    file_name: str
    sha256: str
    received_at: datetime
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    status: str = "loaded"
    message: str = ""
    schema_version: str | None = None
    source_url: str | None = None
    http_etag: str | None = None
    http_last_modified: str | None = None
    # The receipt's number in the home's drop sequence: batches of a partition apply in this order.
    sequence: int | None = None


BATCH_COLUMNS = [f.name for f in fields(BatchRecord)]


# The partition's batches in the order they apply (the drop sequence breaks ties of receipt time).
BATCHES_QUERY = (
    "SELECT * FROM meta.batches WHERE (%(dataset)s::text IS NULL OR dataset = %(dataset)s) "
    "AND (%(producer)s::text IS NULL OR producer = %(producer)s) "
    "ORDER BY received_at, sequence NULLS FIRST, recorded_at"
)
# What a partition recorded from a moment on (the database's clock, as ``recorded_at`` is).
BATCHES_SINCE_QUERY = (
    "SELECT * FROM meta.batches WHERE dataset = %(dataset)s AND producer = %(producer)s "
    "AND recorded_at >= %(since)s ORDER BY received_at, sequence NULLS FIRST, recorded_at"
)
LATEST_BATCHES_QUERY = (
    "SELECT DISTINCT ON (dataset, producer) * FROM meta.batches "
    "ORDER BY dataset, producer, received_at DESC, sequence DESC NULLS LAST, recorded_at DESC"
)


def insert_batch(conn: psycopg.Connection, batch: BatchRecord) -> None:
    """Record ``batch`` in the caller's transaction."""
    # A re-run of the same batch (a retried Dagster run) updates its row rather than failing.
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in BATCH_COLUMNS)
    updates = sql.SQL(", ").join(
        sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in BATCH_COLUMNS[1:]
    )
    conn.execute(
        sql.SQL(
            "INSERT INTO meta.batches ({}) VALUES ({}) ON CONFLICT (batch_id) DO UPDATE SET {}, "
            "recorded_at = clock_timestamp()"
        ).format(columns, sql.SQL(", ").join(sql.Placeholder(c) for c in BATCH_COLUMNS), updates),
        asdict(batch),
    )


def batch_seen(conn: psycopg.Connection, dataset: str, producer: str, sha256: str) -> bool:
    """Whether this exact file (same bytes) was already received for the partition, loaded or refused."""
    row = conn.execute(
        "SELECT 1 FROM meta.batches WHERE dataset = %s AND producer = %s AND sha256 = %s LIMIT 1",
        (dataset, producer, sha256),
    ).fetchone()
    return row is not None


def sequences_seen(conn: psycopg.Connection, dataset: str, producer: str) -> set[int]:
    """Drop sequence numbers of the partition's receipts already taken by a batch."""
    rows = conn.execute(
        "SELECT sequence FROM meta.batches WHERE dataset = %s AND producer = %s AND sequence IS NOT NULL",
        (dataset, producer),
    ).fetchall()
    return {r[0] for r in rows}


def all_sequences_seen(conn: psycopg.Connection) -> dict[tuple[str, str], set[int]]:
    """:func:`sequences_seen` of every partition at once, by (dataset, producer)."""
    return sequences_by_partition(
        conn.execute("SELECT dataset, producer, sequence FROM meta.batches WHERE sequence IS NOT NULL")
    )


def current_batches(conn: psycopg.Connection, table: str) -> dict[str, str]:
    """Each producer's batch now in ``harmonised.<table>`` (its last loaded batch)."""
    rows = conn.execute(
        "SELECT DISTINCT ON (producer) producer, batch_id FROM meta.batches "
        "WHERE dataset = %s AND status = 'loaded' ORDER BY producer, recorded_at DESC",
        (table,),
    ).fetchall()
    return dict(rows)
