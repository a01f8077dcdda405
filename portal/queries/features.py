"""OGC API – Features and vector tiles: a version's extent, one feature, one Mapbox vector tile."""

from __future__ import annotations

import psycopg
from psycopg import sql

from portal.columns import Column, PublishedDataset
from portal.queries.selection import Params, where_clause
from portal.queries.versions import Snapshot
from portal.request import Query


async def extent(
    conn: psycopg.AsyncConnection, published: PublishedDataset, snap: Snapshot
) -> list[float] | None:
    """The bounding box of the version's geometries (lon/lat), None when it has none."""
    params = Params()
    source, where = where_clause(published, Query(), snap, params)
    cur = await conn.execute(
        sql.SQL(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) "
            "FROM (SELECT ST_Extent({}) AS e FROM {} WHERE {}) s"
        ).format(sql.Identifier(published.geometry.name), source, where),
        params.values,
    )
    row = await cur.fetchone()
    return None if row is None or row[0] is None else [float(v) for v in row]


async def feature(
    conn: psycopg.AsyncConnection, published: PublishedDataset, snap: Snapshot, batch_id: str, source_row: int
) -> str | None:
    """One Feature by its id (``<batch>.<source row>``), as GeoJSON text."""
    params = Params()
    source, where = where_clause(published, Query(), snap, params)
    where = sql.SQL("{} AND batch_id = {} AND coalesce(source_row, -1) = {}").format(
        where, params(batch_id, "text"), params(source_row, "integer")
    )
    columns = [c for c in published.columns if c != published.geometry]
    outputs = sql.SQL(", ").join(
        sql.SQL("r.{} AS {}").format(sql.Identifier(c.name), sql.Identifier(c.name)) for c in columns
    )
    statement = sql.SQL(
        "SELECT json_build_object('type', 'Feature', 'id', r.batch_id || '.' || coalesce(r.source_row, -1), "
        "'geometry', ST_AsGeoJSON(r.{g})::json, 'properties', to_json(x))::text "
        "FROM (SELECT * FROM {source} WHERE {where} LIMIT 1) r, LATERAL (SELECT {outputs}) x"
    ).format(g=sql.Identifier(published.geometry.name), source=source, where=where, outputs=outputs)
    row = await (await conn.execute(statement, params.values)).fetchone()
    return row[0] if row else None


def _tile_value(column: Column) -> sql.Composable:
    ref = sql.SQL("r.{}").format(sql.Identifier(column.name))
    if column.type in ("number",):
        return sql.SQL("{}::float8").format(ref)
    if column.type in ("integer", "year", "boolean", "string") or column.sql_type == "text":
        return ref
    return sql.SQL("{}::text").format(ref)


async def tile(
    conn: psycopg.AsyncConnection, published: PublishedDataset, snap: Snapshot, z: int, x: int, y: int
) -> bytes:
    """The Mapbox Vector Tile z/x/y (Web Mercator) of the version's features; one layer named after
    the dataset, every field but the geometry as a property."""
    params = Params()
    source, where = where_clause(published, Query(), snap, params)
    geometry = sql.Identifier(published.geometry.name)
    envelope = sql.SQL("ST_TileEnvelope({}, {}, {})").format(
        params(z, "integer"), params(x, "integer"), params(y, "integer")
    )
    properties = sql.SQL(", ").join(
        sql.SQL("{} AS {}").format(_tile_value(c), sql.Identifier(c.name))
        for c in published.columns
        if c != published.geometry and not c.is_geometry
    )
    statement = sql.SQL(
        "WITH b AS (SELECT {env} AS tile, ST_Transform({env}, 4326) AS box), "
        "m AS (SELECT ST_AsMVTGeom(ST_Transform(r.{g}, 3857), b.tile) AS mvt_geometry, {props} "
        "FROM (SELECT * FROM {source} WHERE {where}) r, b WHERE r.{g} && b.box) "
        "SELECT ST_AsMVT(m, {layer}, 4096, 'mvt_geometry') FROM m"
    ).format(
        env=envelope,
        g=geometry,
        props=properties,
        source=source,
        where=where,
        layer=params(published.id, "text"),
    )
    row = await (await conn.execute(statement, params.values)).fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
