"""The statements that stream a whole filtered result for a file export (CSV, JSON, GeoJSON, Parquet)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import psycopg
from psycopg import sql

from portal.columns import Column, PublishedDataset
from portal.queries.selection import FILE_ORDER, Params, order_by, selected_columns, where_clause
from portal.queries.values import binary_value, json_value, text_value
from portal.queries.versions import Snapshot
from portal.request import Query


def export_statement(
    published: PublishedDataset, query: Query, snap: Snapshot, fmt: str
) -> tuple[sql.Composable, dict[str, Any], list[Column]]:
    """The statement streaming the whole filtered result, one row per record, ready for ``fmt``:
    ``csv``/``parquet`` (one text value per column), ``json`` (a JSON object), ``geojson`` (a Feature)."""
    params = Params()
    source, where = where_clause(published, query, snap, params)
    columns = selected_columns(published, query)
    inner = sql.SQL("(SELECT * FROM {} WHERE {}{})").format(
        source,
        where,
        # Without a sort, the published file's order (resources/warehouse/ read_table).
        sql.SQL(" ORDER BY {}").format(order_by(query) if query.sort is not None else FILE_ORDER),
    )

    def ref(column: Column) -> sql.Composable:
        return sql.SQL("r.{}").format(sql.Identifier(column.name))

    if fmt == "json":
        outputs = sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(json_value(c, ref(c)), sql.Identifier(c.name)) for c in columns
        )
        statement = sql.SQL("SELECT to_json(x)::text FROM {} r, LATERAL (SELECT {}) x").format(inner, outputs)
    elif fmt == "geojson":
        geometry = published.geometry
        properties = [c for c in columns if c != geometry] or [
            c for c in published.columns if c.name == "producer"
        ]
        outputs = sql.SQL(", ").join(
            sql.SQL("{} AS {}").format(json_value(c, ref(c)), sql.Identifier(c.name)) for c in properties
        )
        statement = sql.SQL(
            "SELECT json_build_object('type', 'Feature', 'geometry', ST_AsGeoJSON({g})::json, "
            "'properties', to_json(x))::text FROM {inner} r, LATERAL (SELECT {o}) x"
        ).format(g=ref(geometry), inner=inner, o=outputs)
    elif fmt == "parquet":
        outputs = sql.SQL(", ").join(binary_value(c, ref(c)) for c in columns)
        statement = sql.SQL("SELECT {} FROM {} r").format(outputs, inner)
    else:
        outputs = sql.SQL(", ").join(text_value(c, ref(c)) for c in columns)
        statement = sql.SQL("SELECT {} FROM {} r").format(outputs, inner)
    return statement, params.values, columns


async def stream(
    conn: psycopg.AsyncConnection,
    statement: sql.Composable,
    values: dict[str, Any],
    batch: int,
    timeout_ms: int,
) -> AsyncIterator[list[tuple]]:
    """Rows of ``statement`` in batches, through a server-side cursor: memory stays flat.

    An export's first fetch may sort the whole result (the published file's order): it gets its own,
    longer, statement timeout, still bounded.
    """
    async with conn.transaction():
        await conn.execute(
            sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(f"{int(timeout_ms)}ms"))
        )
        async with conn.cursor(name="portal_export") as cur:
            cur.itersize = batch
            await cur.execute(statement, values)
            while rows := await cur.fetchmany(batch):
                yield rows
