"""Published versions: the diff between two tables, and a candidate made the published version.

``meta.publications`` holds one row per version; ``published.<dataset>_history`` keeps every row's
interval of versions (SCD type 2), so the territory can be read as it was at any date.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from resources.warehouse.names import derived_name, published_columns

if TYPE_CHECKING:
    from quality.schema import TableSchema
    from resources.warehouse.consolidation import Consolidation


def has_changes(diff: list[dict[str, Any]]) -> bool:
    """Whether a diff adds, removes or changes any row."""
    return any(d["added"] or d["removed"] or d["changed"] for d in diff)


def current_version(conn: psycopg.Connection, table: str) -> tuple[int, datetime] | None:
    """(version, published_at) of the version ``published.<table>`` holds, None before the first."""
    row = conn.execute(
        "SELECT version, published_at FROM meta.publications WHERE dataset = %s "
        "AND status IN ('published', 'approved') ORDER BY version DESC LIMIT 1",
        (table,),
    ).fetchone()
    return (row[0], row[1]) if row else None


def next_version(conn: psycopg.Connection, table: str) -> int:
    """The number the next version of ``table`` takes (held versions count)."""
    return conn.execute(
        "SELECT coalesce(max(version), 0) + 1 FROM meta.publications WHERE dataset = %s", (table,)
    ).fetchone()[0]


def diff_tables(
    conn: psycopg.Connection,
    schema: TableSchema | list[str],
    candidate: sql.Identifier,
    current: sql.Identifier,
    consolidation: Consolidation,
) -> list[dict[str, Any]]:
    """Per producer: rows in each table, rows added, removed and changed (see publish_candidate)."""
    fields = published_columns(schema)
    key = sql.SQL(", ").join(sql.Identifier(c) for c in consolidation.diff_key)
    everything = sql.SQL(", ").join(sql.Identifier(c) for c in fields)
    side = sql.SQL("SELECT producer, md5(ROW({key})::text) AS k, md5(ROW({all})::text) AS h FROM {t}")
    rows = conn.execute(
        sql.SQL(
            "WITH c AS ({c}), p AS ({p}) "
            "SELECT coalesce(c.producer, p.producer) AS producer, "
            "count(p.producer) AS current, count(c.producer) AS candidate, "
            "count(*) FILTER (WHERE p.producer IS NULL) AS added, "
            "count(*) FILTER (WHERE c.producer IS NULL) AS removed, "
            "count(*) FILTER (WHERE c.h <> p.h) AS changed "
            "FROM c FULL JOIN p ON c.producer = p.producer AND c.k = p.k "
            "GROUP BY 1 ORDER BY 1"
        ).format(
            c=side.format(key=key, all=everything, t=candidate),
            p=side.format(key=key, all=everything, t=current),
        )
    ).fetchall()
    names = ("producer", "current", "candidate", "added", "removed", "changed")
    return [dict(zip(names, r, strict=True)) for r in rows]


def apply_version(
    conn: psycopg.Connection,
    schema: TableSchema | list[str],
    table: str,
    source: sql.Identifier,
    duplicates: sql.Identifier,
    version: int,
) -> datetime:
    """Make ``source`` the published table and record it in the history as ``version``.

    The history is kept as row intervals (SCD type 2): a row identical in both versions (fields
    and lineage, by md5) keeps its interval; the others are closed or opened at this version.
    """
    names = published_columns(schema)
    columns = sql.SQL(", ").join(sql.Identifier(c) for c in names)
    history = sql.Identifier("published", derived_name(table, "_history"))
    published_at = conn.execute("SELECT now()").fetchone()[0]
    conn.execute(sql.SQL("DELETE FROM {}").format(sql.Identifier("published", table)))
    conn.execute(
        sql.SQL("INSERT INTO {} ({cols}) SELECT {cols} FROM {} ORDER BY producer, source_row").format(
            sql.Identifier("published", table), source, cols=columns
        )
    )
    conn.execute(
        sql.SQL(
            "CREATE TEMP TABLE hashed ON COMMIT DROP AS "
            "SELECT {cols}, md5(ROW({cols})::text) AS row_hash FROM {}"
        ).format(source, cols=columns)
    )
    conn.execute("CREATE INDEX ON hashed (row_hash)")
    conn.execute(
        sql.SQL(
            "UPDATE {h} SET version_to = %(v)s, valid_to = %(t)s WHERE version_to IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM hashed WHERE hashed.row_hash = {h}.row_hash)"
        ).format(h=history),
        {"v": version, "t": published_at},
    )
    conn.execute(
        sql.SQL(
            "INSERT INTO {h} ({cols}, row_hash, version_from, valid_from) "
            "SELECT {cols}, row_hash, %(v)s, %(t)s FROM hashed s WHERE NOT EXISTS "
            "(SELECT 1 FROM {h} o WHERE o.version_to IS NULL AND o.row_hash = s.row_hash)"
        ).format(h=history, cols=columns),
        {"v": version, "t": published_at},
    )
    conn.execute(
        sql.SQL("INSERT INTO {} SELECT %s, * FROM {}").format(
            sql.Identifier("published", derived_name(table, "_duplicates")), duplicates
        ),
        (version,),
    )
    return published_at


def publish_version(
    conn: psycopg.Connection,
    names: list[str],
    table: str,
    version: int,
    rows: int,
    diff: list[dict[str, Any]],
    extra: dict[str, Any],
    *,
    status: str = "published",
) -> datetime:
    """Make the candidate ``version``, record it and mark the version it replaces superseded."""
    candidate = sql.Identifier("meta", derived_name(table, "", prefix="candidate_"))
    lost = sql.Identifier("meta", derived_name(table, "_duplicates", prefix="candidate_"))
    published_at = apply_version(conn, names, table, candidate, lost, version)
    conn.execute(
        "UPDATE meta.publications SET status = 'superseded', superseded_by = %s "
        "WHERE dataset = %s AND status IN ('published', 'approved') AND version <> %s",
        (version, table, version),
    )
    conn.execute(
        "INSERT INTO meta.publications (dataset, version, published_at, rows, status, diff) "
        "VALUES (%s, %s, %s, %s, %s, %s)",
        (table, version, published_at, rows, status, json.dumps({"producers": diff, **extra})),
    )
    return published_at
