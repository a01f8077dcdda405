"""A page of records, and how many records a request matches."""

from __future__ import annotations

import psycopg
from psycopg import sql

from portal.columns import PublishedDataset
from portal.queries.selection import Params, after_key, order_by, page_keys, selected_columns, where_clause
from portal.queries.values import json_value
from portal.queries.versions import Snapshot
from portal.request import Query


async def records(
    conn: psycopg.AsyncConnection,
    published: PublishedDataset,
    query: Query,
    snap: Snapshot,
    after: tuple | None,
    limit: int,
    *,
    features: bool = False,
) -> list[tuple[str, tuple]]:
    """Up to ``limit`` rows after ``after``: (row as JSON text, its page key). ``features``: each row
    a GeoJSON Feature (id ``<batch>.<source row>``, the geometry apart from the properties)."""
    params = Params()
    source, where = where_clause(published, query, snap, params)
    if after is not None:
        where = sql.SQL("{} AND {}").format(where, after_key(query, after, params))
    columns = selected_columns(published, query)
    if features:
        columns = [c for c in columns if c != published.geometry]
    outputs = sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(
            json_value(c, sql.SQL("r.{}").format(sql.Identifier(c.name))), sql.Identifier(c.name)
        )
        for c in columns
    )
    shape = sql.SQL("to_json(x)::text")
    if features:
        shape = sql.SQL(
            "json_build_object('type', 'Feature', 'id', r.batch_id || '.' || coalesce(r.source_row, -1), "
            "'geometry', ST_AsGeoJSON(r.{})::json, 'properties', to_json(x))::text"
        ).format(sql.Identifier(published.geometry.name))
    statement = sql.SQL(
        "SELECT {shape}, {keys} FROM (SELECT * FROM {source} WHERE {where} ORDER BY {order} "
        "LIMIT {limit}) r, LATERAL (SELECT {outputs}) x ORDER BY {outer}"
    ).format(
        shape=shape,
        keys=sql.SQL(", ").join(page_keys(query)),
        source=source,
        where=where,
        order=order_by(query),
        limit=params(limit, "integer"),
        outputs=outputs,
        outer=_outer_order(query),
    )
    cur = await conn.execute(statement, params.values)
    return [(row[0], tuple(row[1:])) for row in await cur.fetchall()]


def _outer_order(query: Query) -> sql.Composable:
    tie = sql.SQL("r.producer, r.batch_id, coalesce(r.source_row, -1)")
    if query.sort is None:
        return tie
    direction = sql.SQL("DESC" if query.descending else "ASC")
    return sql.SQL("r.{} {} NULLS LAST, {}").format(sql.Identifier(query.sort.name), direction, tie)


async def count(
    conn: psycopg.AsyncConnection, published: PublishedDataset, query: Query, snap: Snapshot
) -> int:
    params = Params()
    source, where = where_clause(published, query, snap, params)
    cur = await conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE {}").format(source, where), params.values)
    return (await cur.fetchone())[0]
