"""Loads: a producer's partition replaced whole by one batch, its rows sent with COPY.

One transaction per batch takes an advisory lock on (dataset, producer), deletes the producer's
rows and COPYs the new ones (CSV written by pyarrow), then records the batch; any failure rolls
everything back, so readers only ever see the previous version or the new one, whole.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
import shapely
from psycopg import sql
from psycopg.copy import QueuedLibpqWriter

from resources.warehouse.batches import BatchRecord, insert_batch

if TYPE_CHECKING:
    from quality.schema import TableSchema

# Rows per CSV chunk handed to COPY: small enough that the server parses one chunk while the next
# one is formatted (QueuedLibpqWriter sends from a thread).
_COPY_CHUNK = 50_000


def check_load(
    schema: TableSchema, batch: BatchRecord, accepted: pd.DataFrame, quarantined: pd.DataFrame
) -> None:
    """Refuse a load whose frames do not match what the batch announces (before any transaction)."""
    if batch.status != "loaded":
        raise ValueError(f"Lot {batch.batch_id} : replace_partition attend un lot « loaded ».")
    if len(accepted) != batch.rows_accepted or len(quarantined) != batch.rows_quarantined:
        raise ValueError(
            f"Lot {batch.batch_id} : {len(accepted)} lignes acceptées et {len(quarantined)} "
            f"en quarantaine fournies, mais le lot annonce {batch.rows_accepted} acceptées "
            f"et {batch.rows_quarantined} en quarantaine."
        )
    missing = [name for name in schema.field_names if name not in accepted.columns]
    if missing:
        raise ValueError(f"Lot {batch.batch_id} : colonnes absentes du cadre accepté : {missing}")


def replace_partition(
    conn: psycopg.Connection,
    schema: TableSchema,
    table: str,
    batch: BatchRecord,
    accepted: pd.DataFrame,
    quarantined: pd.DataFrame,
) -> None:
    """Replace ``batch.producer``'s rows of ``table`` with this batch, in the caller's transaction."""
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s), hashtext(%s))", (table, batch.producer))
    load_harmonised(conn, schema, table, batch, accepted)
    load_quarantine(conn, table, batch, quarantined)
    insert_batch(conn, batch)


def load_harmonised(
    conn: psycopg.Connection, schema: TableSchema, table: str, batch: BatchRecord, accepted: pd.DataFrame
) -> None:
    """The batch's accepted rows, typed, in place of the producer's previous partition."""
    # COPY straight into the table, after deleting the partition, inside the load's transaction:
    # a failed COPY rolls the DELETE back with it, so a temporary staging table adds no safety,
    # while its extra INSERT … SELECT took the load from ~0.9x to ~0.7x of a raw COPY's rate
    # (1M subventions rows). COPY parses the final types itself and names a bad value's column.
    names = [sql.Identifier(name) for name in schema.field_names]
    frame = accepted[schema.field_names]
    if "source_row" in accepted.columns:
        frame = frame.set_axis(accepted["source_row"], axis=0)
    geojson = [f.name for f in schema.fields if f.type == "geojson"]
    if geojson:
        frame = frame.assign(**{name: _geojson_as_ewkt(frame[name]) for name in geojson})
    frame = frame.assign(__producer=batch.producer, __batch_id=batch.batch_id)
    target = sql.Identifier("harmonised", table)
    conn.execute(sql.SQL("DELETE FROM {} WHERE producer = %s").format(target), (batch.producer,))
    # Empty strings are missing values (Table Schema's default missingValues): NULL, like None.
    statement = sql.SQL(
        "COPY {} (source_row, {}, producer, batch_id) FROM STDIN (FORMAT csv, FORCE_NULL ({}))"
    ).format(target, sql.SQL(", ").join(names), sql.SQL(", ").join(names))
    _copy_csv(conn, statement, frame)


def load_quarantine(
    conn: psycopg.Connection, table: str, batch: BatchRecord, quarantined: pd.DataFrame
) -> None:
    """The batch's rejected rows, cells and errors as jsonb, in place of the producer's previous ones."""
    target = sql.Identifier("quarantine", table)
    conn.execute(sql.SQL("DELETE FROM {} WHERE producer = %s").format(target), (batch.producer,))
    if quarantined.empty:
        return

    def as_json(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, default=str)

    frame = pd.DataFrame(
        {
            "cells": quarantined["cells"].map(as_json),
            "errors": quarantined["errors"].map(as_json),
            "producer": batch.producer,
            "batch_id": batch.batch_id,
        }
    ).set_axis(quarantined["source_row"], axis=0)
    statement = sql.SQL(
        "COPY {} (source_row, cells, errors, producer, batch_id) FROM STDIN (FORMAT csv)"
    ).format(target)
    _copy_csv(conn, statement, frame)


def _copy_csv(conn: psycopg.Connection, statement: sql.Composable, frame: pd.DataFrame) -> None:
    """COPY ``frame`` as CSV, its index (the source row) first; NaN/None/NA travel as NULL."""
    with conn.cursor() as cur:
        with cur.copy(statement, writer=QueuedLibpqWriter(cur)) as copy:
            for chunk in _csv_chunks(frame):
                copy.write(chunk)


def _csv_chunks(frame: pd.DataFrame) -> Iterator[bytes]:
    """``frame`` as headerless CSV, index first, in chunks of ``_COPY_CHUNK`` rows.

    pyarrow's C++ writer rather than ``DataFrame.to_csv``: 0.7 s instead of 10 s for a million
    subventions rows, which would otherwise dominate the load. It quotes every string (an empty
    string becomes ``""``, hence FORCE_NULL in the COPY) and writes nulls as empty fields. A frame
    pyarrow cannot type (an object column mixing text and numbers, against the typed-frame contract)
    goes through ``to_csv``, so PostgreSQL still names the offending line and column.
    """
    try:
        table = pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        for start in range(0, len(frame), _COPY_CHUNK):
            chunk = frame.iloc[start : start + _COPY_CHUNK]
            yield chunk.to_csv(header=False, index=True, lineterminator="\n").encode()
        return
    table = table.add_column(0, "__source_row", pa.array(frame.index.to_numpy()))
    options = pa_csv.WriteOptions(include_header=False)
    for batch in table.to_batches(max_chunksize=_COPY_CHUNK):
        sink = io.BytesIO()
        pa_csv.write_csv(batch, sink, options)
        yield sink.getvalue()


def _geojson_as_ewkt(values: pd.Series) -> pd.Series:
    """GeoJSON geometries as EWKT (COPY cannot call ST_GeomFromGeoJSON); EWKT and nulls pass as they are."""
    is_json = values.astype("string").str.lstrip().str.startswith("{").fillna(False).astype(bool)
    if not is_json.any():
        return values
    try:
        geometries = shapely.from_geojson(values[is_json].to_numpy())
    except shapely.errors.GEOSException as exc:
        raise ValueError(f"GeoJSON illisible dans la colonne {values.name!r} : {exc}") from None
    converted = values.astype(object).copy()
    converted[is_json] = "SRID=4326;" + pd.Series(
        shapely.to_wkt(geometries, rounding_precision=-1), index=values.index[is_json], dtype=object
    )
    return converted
