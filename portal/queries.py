"""Every SQL statement of the portal.

Kept apart from ``resources/warehouse.py`` on purpose: the platform's writer resource connects as the
owner role and changes the warehouse; the portal is a read-only consumer, connected as its own login
role (``territoire_portal``, a member of ``territoire_analyst`` that may also read
``meta.publications``), in read-only transactions under a statement timeout. Nothing here writes data;
``provision_role`` only creates that login role, with the platform's administrator URL, when no
``TERRITOIRE_PORTAL_URL`` is given.

Identifiers (tables, fields) come from the registry and the schemas and are quoted with
``psycopg.sql.Identifier``; every value travels as a parameter.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg import sql

from portal.columns import Column, PublishedDataset
from portal.request import Filter, Query

PORTAL_ROLE = "territoire_portal"
ANALYST_ROLE = "territoire_analyst"  # resources.warehouse.ANALYST_ROLE (created by Warehouse.setup)
# A version was published when it has a date: the current one ('published' or 'approved') and those a
# newer one replaced ('superseded' with superseded_by); a held version never had one.
# Text a spreadsheet would run as a formula (OWASP CSV injection), as the published CSV neutralises
# it (assets/publish.py): prefixed with a quote, unless it is a plain decimal number.
_FORMULA = r"^[=+\-@\t\r]"
_PLAIN_NUMBER = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"


# -- the portal's role -------------------------------------------------------------------------------


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


# -- versions ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Version:
    version: int
    published_at: datetime
    rows: int


@dataclass(frozen=True)
class Snapshot:
    """The version a request reads, and whether it is the current one (read from ``published.<t>``)."""

    table: str
    version: int
    published_at: datetime
    rows: int
    current: bool


async def current_versions(conn: psycopg.AsyncConnection) -> dict[str, Version]:
    """The current published version of every dataset table that has one."""
    cur = await conn.execute(
        "SELECT DISTINCT ON (dataset) dataset, version, published_at, rows FROM meta.publications "
        "WHERE published_at IS NOT NULL ORDER BY dataset, version DESC",
    )
    return {r[0]: Version(r[1], r[2], r[3]) for r in await cur.fetchall()}


async def versions(conn: psycopg.AsyncConnection, table: str) -> list[Version]:
    cur = await conn.execute(
        "SELECT version, published_at, rows FROM meta.publications "
        "WHERE dataset = %s AND published_at IS NOT NULL ORDER BY version",
        (table,),
    )
    return [Version(*r) for r in await cur.fetchall()]


async def snapshot(
    conn: psycopg.AsyncConnection, table: str, *, version: int | None = None, as_of: datetime | None = None
) -> Snapshot | None:
    """The version asked for (the current one by default, else by number or by date); None when there
    is no such published version."""
    known = await versions(conn, table)
    if not known:
        return None
    current = known[-1]
    if version is not None:
        chosen = next((v for v in known if v.version == version), None)
    elif as_of is not None:
        chosen = next((v for v in reversed(known) if v.published_at <= as_of), None)
    else:
        chosen = current
    if chosen is None:
        return None
    return Snapshot(table, chosen.version, chosen.published_at, chosen.rows, chosen is current)


# -- records -----------------------------------------------------------------------------------------


class _Params:
    """Named parameters, so pieces of SQL can be composed in any order."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any, cast: str | None = None) -> sql.Composable:
        name = f"p{len(self.values)}"
        self.values[name] = value
        placeholder = sql.Placeholder(name)
        return sql.SQL("{}::{}").format(placeholder, sql.SQL(cast)) if cast else placeholder


def _source(snap: Snapshot, params: _Params) -> tuple[sql.Composable, list[sql.Composable]]:
    """The relation holding ``snap``'s rows, and the conditions that select them."""
    if snap.current:
        return sql.Identifier("published", snap.table), []
    from resources.warehouse import derived_name

    history = sql.Identifier("published", derived_name(snap.table, "_history"))
    v = params(snap.version, "integer")
    return history, [sql.SQL("version_from <= {v} AND (version_to IS NULL OR version_to > {v})").format(v=v)]


def _condition(flt: Filter, params: _Params) -> sql.Composable:
    col = sql.Identifier(flt.column.name)
    cast = flt.column.sql_type
    op = flt.operator
    if op == "isnull":
        return sql.SQL("{} IS NULL").format(col)
    if op == "isnotnull":
        return sql.SQL("{} IS NOT NULL").format(col)
    if op == "contains":
        pattern = "%" + flt.values[0].replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return sql.SQL("{}::text ILIKE {}").format(col, params(pattern))
    if op == "in":
        return sql.SQL("{} = ANY({})").format(col, params(list(flt.values), f"{cast}[]"))
    value = params(flt.values[0], cast)
    if flt.column.is_json:
        col, value = sql.SQL("{}::text").format(col), params(flt.values[0])
    symbol = {
        "exact": "=",
        "differs": "IS DISTINCT FROM",
        "less": "<=",
        "greater": ">=",
        "strictly_less": "<",
        "strictly_greater": ">",
    }[op]
    return sql.SQL("{} {} {}").format(col, sql.SQL(symbol), value)


def _where(published: PublishedDataset, query: Query, snap: Snapshot, params: _Params):
    source, conditions = _source(snap, params)
    conditions += [_condition(f, params) for f in query.filters]
    if query.bbox is not None and published.geometry is not None:
        conditions.append(
            sql.SQL("{} && ST_MakeEnvelope({}, {}, {}, {}, 4326)").format(
                sql.Identifier(published.geometry.name), *(params(v, "float8") for v in query.bbox)
            )
        )
    where = sql.SQL(" AND ").join(conditions) if conditions else sql.SQL("true")
    return source, where


_TIE = sql.SQL("producer, batch_id, coalesce(source_row, -1)")
_FILE_ORDER = sql.SQL("producer, source_row")


def _order(query: Query) -> sql.Composable:
    if query.sort is None:
        return _TIE
    direction = sql.SQL("DESC" if query.descending else "ASC")
    return sql.SQL("{} {} NULLS LAST, {}").format(sql.Identifier(query.sort.name), direction, _TIE)


def _after(query: Query, key: tuple, params: _Params) -> sql.Composable:
    """Rows strictly after ``key`` in the page order (sort value NULLS LAST, then lineage)."""
    producer, batch_id, source_row = key[-3:]
    tie = sql.SQL("({}) > ({}, {}, {})").format(
        _TIE, params(producer, "text"), params(batch_id, "text"), params(source_row, "integer")
    )
    if query.sort is None:
        return tie
    col = sql.Identifier(query.sort.name)
    if key[0] is None:
        return sql.SQL("({} IS NULL AND {})").format(col, tie)
    value = params(key[0], query.sort.sql_type)
    beyond = sql.SQL("<" if query.descending else ">")
    return sql.SQL("({col} {beyond} {v} OR ({col} = {v} AND {tie}) OR {col} IS NULL)").format(
        col=col, beyond=beyond, v=value, tie=tie
    )


def json_value(column: Column, ref: sql.Composable) -> sql.Composable:
    """The column as a JSON value: geometries as GeoJSON objects, the rest as PostgreSQL's to_json."""
    if column.is_geometry:
        return sql.SQL("ST_AsGeoJSON({})::json").format(ref)
    return ref


def text_value(column: Column, ref: sql.Composable) -> sql.Composable:
    """The column as the published CSV writes it: each field in its schema's lexical form
    (``assets/lexical.py``, here in SQL so rows stream), formulas neutralised in free text columns
    (``assets/publish.py``). ``tests/test_api.py`` compares the two files byte for byte."""
    field = column.field
    descriptor = field.descriptor if field is not None else {}
    if column.type == "boolean":
        true_word = str((descriptor.get("trueValues") or ["true"])[0])
        false_word = str((descriptor.get("falseValues") or ["false"])[0])
        return sql.SQL("CASE WHEN {r} THEN {t} WHEN NOT {r} THEN {f} END").format(
            r=ref, t=sql.Literal(true_word), f=sql.Literal(false_word)
        )
    if column.type == "number":
        text = _shortest(ref)
        decimal = descriptor.get("decimalChar") or "."
        return text if decimal == "." else sql.SQL("replace({}, '.', {})").format(text, sql.Literal(decimal))
    if column.type in ("date", "datetime", "time"):
        pattern = _to_char(field.format if field is not None else None)
        if pattern is not None:
            return sql.SQL("to_char({}, {})").format(ref, sql.Literal(pattern))
        if column.type == "datetime":
            return sql.SQL("to_json({})#>>'{{}}'").format(ref)
        return sql.SQL("{}::text").format(ref)
    if column.type == "geopoint":
        x, y = _shortest(sql.SQL("ST_X({})").format(ref)), _shortest(sql.SQL("ST_Y({})").format(ref))
        form = field.format if field is not None else None
        if form == "array":
            return sql.SQL("'[' || {} || ', ' || {} || ']'").format(x, y)
        if form == "object":
            return sql.SQL("""'{{"lon": ' || {} || ', "lat": ' || {} || '}}'""").format(x, y)
        return sql.SQL("{} || ',' || {}").format(x, y)
    if column.type == "geojson":
        return sql.SQL("ST_AsGeoJSON({})").format(ref)
    if _free_text(column):
        return sql.SQL("CASE WHEN {r} ~ {f} AND {r} !~ {n} THEN '''' || {r} ELSE {r} END").format(
            r=ref, f=sql.Literal(_FORMULA), n=sql.Literal(_PLAIN_NUMBER)
        )
    return sql.SQL("{}::text").format(ref)


def _shortest(ref: sql.Composable) -> sql.Composable:
    """A number as the shortest positional decimal reading back to the same float64, as
    ``numpy.format_float_positional(unique=True, trim="-")``: PostgreSQL's float8 text is the shortest
    already; only its exponent form (beyond 1e15 or below 1e-4) is rewritten positionally."""
    text = sql.SQL("({}::float8)::text").format(ref)
    return sql.SQL(
        "CASE WHEN {t} ~ 'e' "
        "THEN trim(trailing '.' FROM trim(trailing '0' FROM ({r}::float8)::numeric::text)) ELSE {t} END"
    ).format(t=text, r=ref)


_STRFTIME = {"%Y": "YYYY", "%m": "MM", "%d": "DD", "%H": "HH24", "%M": "MI", "%S": "SS", "%%": "%"}


def _to_char(form: str | None) -> str | None:
    """A Table Schema ``format`` pattern (strftime) as a to_char pattern; None when it has none or
    uses a directive outside the common ones (the value is then written in ISO 8601)."""
    if not form or "%" not in form:
        return None
    out, index = [], 0
    while index < len(form):
        if form[index] == "%":
            directive = form[index : index + 2]
            if directive not in _STRFTIME:
                return None
            out.append(_STRFTIME[directive])
            index += 2
        else:
            out.append(f'"{form[index]}"' if form[index].isalpha() else form[index])
            index += 1
    return "".join(out)


def _free_text(column: Column) -> bool:
    """Text a formula could hide in: a string field with no format, pattern or enum, or a lineage
    column (``assets/publish.py`` neutralises the same)."""
    field = column.field
    if field is None:
        return column.type == "string"
    constrained = field.format not in (None, "default") or {"pattern", "enum"} & set(field.constraints)
    return field.type in ("string", "any") and not constrained


def binary_value(column: Column, ref: sql.Composable) -> sql.Composable:
    """The column for a Parquet file: geometries as WKB (GeoParquet), the rest as text that pyarrow
    casts to the column's type (no formula neutralising: no spreadsheet runs a Parquet cell)."""
    if column.is_geometry:
        return sql.SQL("ST_AsBinary({})").format(ref)
    if column.type in ("boolean", "datetime"):
        return sql.SQL("to_json({})#>>'{{}}'").format(ref)
    return sql.SQL("{}::text").format(ref)


def _keys(query: Query) -> list[sql.Composable]:
    keys = [sql.SQL("r.producer"), sql.SQL("r.batch_id"), sql.SQL("r.source_row")]
    if query.sort is not None:
        keys.insert(0, sql.SQL("r.{}::text").format(sql.Identifier(query.sort.name)))
    return keys


def _selected(published: PublishedDataset, query: Query) -> list[Column]:
    return list(query.columns) or list(published.columns)


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
    params = _Params()
    source, where = _where(published, query, snap, params)
    if after is not None:
        where = sql.SQL("{} AND {}").format(where, _after(query, after, params))
    columns = _selected(published, query)
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
        keys=sql.SQL(", ").join(_keys(query)),
        source=source,
        where=where,
        order=_order(query),
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
    params = _Params()
    source, where = _where(published, query, snap, params)
    cur = await conn.execute(sql.SQL("SELECT count(*) FROM {} WHERE {}").format(source, where), params.values)
    return (await cur.fetchone())[0]


# -- exports -----------------------------------------------------------------------------------------


def export_statement(
    published: PublishedDataset, query: Query, snap: Snapshot, fmt: str
) -> tuple[sql.Composable, dict[str, Any], list[Column]]:
    """The statement streaming the whole filtered result, one row per record, ready for ``fmt``:
    ``csv``/``parquet`` (one text value per column), ``json`` (a JSON object), ``geojson`` (a Feature)."""
    params = _Params()
    source, where = _where(published, query, snap, params)
    columns = _selected(published, query)
    inner = sql.SQL("(SELECT * FROM {} WHERE {}{})").format(
        source,
        where,
        # Without a sort, the published file's order (resources/warehouse.py read_table).
        sql.SQL(" ORDER BY {}").format(_order(query) if query.sort is not None else _FILE_ORDER),
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


# -- OGC API – Features and vector tiles --------------------------------------------------------------


async def extent(
    conn: psycopg.AsyncConnection, published: PublishedDataset, snap: Snapshot
) -> list[float] | None:
    """The bounding box of the version's geometries (lon/lat), None when it has none."""
    params = _Params()
    source, where = _where(published, Query(), snap, params)
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
    params = _Params()
    source, where = _where(published, Query(), snap, params)
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
    params = _Params()
    source, where = _where(published, Query(), snap, params)
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
