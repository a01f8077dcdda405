"""The pages' own SQL: rows per producer, a numeric field's distribution and totals, the versions.

Read-only statements on ``published.<table>`` (the current version) or ``published.<table>_history``
(an earlier one), through the portal's pool and role; identifiers come from the registry and schemas
(``psycopg.sql.Identifier``), values travel as parameters. The API's own statements stay in
``portal/queries/``; these serve the pages only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql

from portal.columns import Column, PublishedDataset
from portal.pages.context import history_table
from portal.queries import Snapshot

HISTOGRAM_BINS = 12
# Fields that place a row rather than measure it: never "the main numeric field".
_PLACE_WORDS = ("lat", "lon", "lng", "x", "y", "coord", "insee", "code", "siret", "siren", "annee", "id")


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    rows: int


def _source(snap: Snapshot) -> tuple[sql.Composable, sql.Composable, list[Any]]:
    """The relation holding the snapshot's rows, its condition and the condition's values."""
    if snap.current:
        return sql.Identifier("published", snap.table), sql.SQL("true"), []
    relation = sql.Identifier("published", history_table(snap.table))
    condition = sql.SQL("version_from <= %s AND (version_to IS NULL OR version_to > %s)")
    return relation, condition, [snap.version, snap.version]


async def rows_per_producer(conn: psycopg.AsyncConnection, snap: Snapshot) -> dict[str, int]:
    relation, condition, values = _source(snap)
    statement = sql.SQL(
        "SELECT producer, count(*) FROM {} WHERE {} GROUP BY producer ORDER BY count(*) DESC, producer"
    ).format(relation, condition)
    cur = await conn.execute(statement, values)
    return {r[0]: r[1] for r in await cur.fetchall()}


def main_numeric(published: PublishedDataset) -> Column | None:
    """The field the charts measure: the first number of the schema that is not a position or a code."""
    block = published.dataset.geometry
    placed = {block.lon, block.lat} if block is not None else set()
    for column in published.columns:
        if column.field is None or column.type not in ("number", "integer") or column.name in placed:
            continue
        words = column.name.lower().replace("_", " ").split()
        if any(w in _PLACE_WORDS or w.startswith(("lat", "lon", "coord", "code")) for w in words):
            continue
        return column
    return None


async def totals_per_producer(
    conn: psycopg.AsyncConnection, snap: Snapshot, column: Column
) -> dict[str, float]:
    relation, condition, values = _source(snap)
    statement = sql.SQL(
        "SELECT producer, sum({c})::float8 FROM {r} WHERE {w} AND {c} IS NOT NULL "
        "GROUP BY producer ORDER BY 2 DESC, producer"
    ).format(c=sql.Identifier(column.name), r=relation, w=condition)
    cur = await conn.execute(statement, values)
    return {r[0]: float(r[1]) for r in await cur.fetchall()}


async def distribution(conn: psycopg.AsyncConnection, snap: Snapshot, column: Column) -> list[Bin]:
    """Rows per equal-width bin between the field's 1st and 99th percentiles (a typo of a billion
    euros would otherwise squeeze every other row into the first bin); outliers join the end bins."""
    relation, condition, values = _source(snap)
    col = sql.Identifier(column.name)
    bounds = sql.SQL(
        "SELECT percentile_cont(0.01) WITHIN GROUP (ORDER BY {c}::float8), "
        "percentile_cont(0.99) WITHIN GROUP (ORDER BY {c}::float8) FROM {r} WHERE {w} AND {c} IS NOT NULL"
    ).format(c=col, r=relation, w=condition)
    low, high = await (await conn.execute(bounds, values)).fetchone()
    if low is None or high is None:
        return []
    if high <= low:
        high = low + 1
    width = (high - low) / HISTOGRAM_BINS
    statement = sql.SQL(
        "SELECT least(greatest(width_bucket({c}::float8, %s, %s, %s), 1), %s) AS bin, count(*) "
        "FROM {r} WHERE {w} AND {c} IS NOT NULL GROUP BY bin ORDER BY bin"
    ).format(c=col, r=relation, w=condition)
    cur = await conn.execute(statement, [low, high, HISTOGRAM_BINS, HISTOGRAM_BINS, *values])
    counts = {r[0]: r[1] for r in await cur.fetchall()}
    return [
        Bin(low + (i - 1) * width, low + i * width, counts.get(i, 0)) for i in range(1, HISTOGRAM_BINS + 1)
    ]
