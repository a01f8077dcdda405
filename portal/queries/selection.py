"""Which rows a request selects and in what order: the version's relation, filters, bbox, keyset."""

from __future__ import annotations

from typing import Any

from psycopg import sql

from portal.columns import Column, PublishedDataset
from portal.queries.versions import Snapshot
from portal.request import Filter, Query


class Params:
    """Named parameters, so pieces of SQL can be composed in any order."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def __call__(self, value: Any, cast: str | None = None) -> sql.Composable:
        name = f"p{len(self.values)}"
        self.values[name] = value
        placeholder = sql.Placeholder(name)
        return sql.SQL("{}::{}").format(placeholder, sql.SQL(cast)) if cast else placeholder


def _source(snap: Snapshot, params: Params) -> tuple[sql.Composable, list[sql.Composable]]:
    """The relation holding ``snap``'s rows, and the conditions that select them."""
    if snap.current:
        return sql.Identifier("published", snap.table), []
    from resources.warehouse import derived_name

    history = sql.Identifier("published", derived_name(snap.table, "_history"))
    v = params(snap.version, "integer")
    return history, [sql.SQL("version_from <= {v} AND (version_to IS NULL OR version_to > {v})").format(v=v)]


def _condition(flt: Filter, params: Params) -> sql.Composable:
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


def where_clause(published: PublishedDataset, query: Query, snap: Snapshot, params: Params):
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


TIE = sql.SQL("producer, batch_id, coalesce(source_row, -1)")


FILE_ORDER = sql.SQL("producer, source_row")


def order_by(query: Query) -> sql.Composable:
    if query.sort is None:
        return TIE
    direction = sql.SQL("DESC" if query.descending else "ASC")
    return sql.SQL("{} {} NULLS LAST, {}").format(sql.Identifier(query.sort.name), direction, TIE)


def after_key(query: Query, key: tuple, params: Params) -> sql.Composable:
    """Rows strictly after ``key`` in the page order (sort value NULLS LAST, then lineage)."""
    producer, batch_id, source_row = key[-3:]
    tie = sql.SQL("({}) > ({}, {}, {})").format(
        TIE, params(producer, "text"), params(batch_id, "text"), params(source_row, "integer")
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


def page_keys(query: Query) -> list[sql.Composable]:
    keys = [sql.SQL("r.producer"), sql.SQL("r.batch_id"), sql.SQL("r.source_row")]
    if query.sort is not None:
        keys.insert(0, sql.SQL("r.{}::text").format(sql.Identifier(query.sort.name)))
    return keys


def selected_columns(published: PublishedDataset, query: Query) -> list[Column]:
    return list(query.columns) or list(published.columns)
