"""What the warehouse answers about the published territory: tables, versions, the catalogue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

from resources.warehouse.connection import frame
from resources.warehouse.names import derived_name


def read_table(conn: psycopg.Connection, schema_name: str, table: str) -> pd.DataFrame:
    """A whole table, ordered by producer and source row; geometries as EWKT, numbers as float.

    ``schema_name`` is one of ``READABLE`` (the caller checks it before connecting).
    """
    rows = conn.execute(
        "SELECT column_name, udt_name FROM information_schema.columns "
        "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
        (schema_name, table),
    ).fetchall()
    if not rows:
        raise LookupError(f"La table {schema_name}.{table} n'existe pas.")
    # numeric comes back as float (the typed frame's number type; Decimal objects trip JSON and
    # Parquet writers), geometry as EWKT, the harmonised frame's lexical form.
    converters = {"geometry": "ST_AsEWKT({0}) AS {0}", "numeric": "{0}::float8 AS {0}"}
    selected = [sql.SQL(converters.get(udt, "{0}")).format(sql.Identifier(name)) for name, udt in rows]
    return frame(
        conn,
        sql.SQL("SELECT {} FROM {} ORDER BY producer, source_row").format(
            sql.SQL(", ").join(selected), sql.Identifier(schema_name, table)
        ),
    )


def read_as_of(conn: psycopg.Connection, table: str, when: datetime) -> pd.DataFrame:
    """The territory as published at ``when`` (the history's interval query, see its COMMENT)."""
    return frame(
        conn,
        sql.SQL(
            "SELECT * FROM {} WHERE valid_from <= %(t)s AND (valid_to IS NULL OR valid_to > %(t)s) "
            "ORDER BY producer, source_row"
        ).format(sql.Identifier("published", derived_name(table, "_history"))),
        {"t": when},
    )


def current_rows(conn: psycopg.Connection, table: str) -> int | None:
    """Rows of the current published version, or None before the first publication."""
    row = conn.execute(
        "SELECT rows FROM meta.publications WHERE dataset = %s "
        "AND status IN ('published', 'approved') ORDER BY version DESC LIMIT 1",
        (table,),
    ).fetchone()
    return row[0] if row else None


def published_catalog(conn: psycopg.Connection) -> list[dict[str, Any]]:
    """Every table of ``published`` with its COMMENT and its columns (name, type, COMMENT)."""
    rows = frame(
        conn,
        "SELECT c.relname AS table_name, obj_description(c.oid, 'pg_class') AS table_comment, "
        "a.attname AS column_name, format_type(a.atttypid, a.atttypmod) AS column_type, "
        "col_description(c.oid, a.attnum) AS column_comment "
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped "
        "WHERE n.nspname = 'published' AND c.relkind IN ('r', 'p', 'v') ORDER BY c.relname, a.attnum",
    )
    tables: list[dict[str, Any]] = []
    for name, group in rows.groupby("table_name", sort=True):
        tables.append(
            {
                "name": f"published.{name}",
                "comment": group["table_comment"].iloc[0],
                "columns": [
                    {"name": r.column_name, "type": r.column_type, "comment": r.column_comment}
                    for r in group.itertuples()
                ],
            }
        )
    return tables
