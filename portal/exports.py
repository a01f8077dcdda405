"""Export bodies built batch by batch from the rows the database streams: memory stays flat whatever
the size of the result (no file, no frame holding it all)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator

import pyarrow as pa
import pyarrow.parquet as pq

from portal.columns import Column

MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "geojson": "application/geo+json",
    "parquet": "application/vnd.apache.parquet",
}

_ARROW = {
    "number": pa.float64(),
    "integer": pa.int64(),
    "year": pa.int64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "datetime": pa.timestamp("us", tz="UTC"),
}


async def csv_body(columns: list[Column], batches: AsyncIterator[list[tuple]]) -> AsyncIterator[bytes]:
    """The published CSV's format (assets/publish/files.py): UTF-8 without BOM, CRLF, quotes only where
    needed, the schema's field names as header."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL, doublequote=True)
    writer.writerow([c.name for c in columns])
    yield buffer.getvalue().encode()
    async for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows(rows)
        yield buffer.getvalue().encode()


async def json_body(batches: AsyncIterator[list[tuple]], *, geojson: bool) -> AsyncIterator[bytes]:
    """A JSON array of records, or a GeoJSON FeatureCollection, from rows holding one JSON text each."""
    yield b'{"type":"FeatureCollection","features":[' if geojson else b"["
    first = True
    async for rows in batches:
        text = ",\n".join(r[0] for r in rows)
        yield (("" if first else ",\n") + text).encode()
        first = False
    yield b"]}\n" if geojson else b"]\n"


class _Sink:
    """A write-only file for pyarrow whose bytes are taken away after each row group."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self.closed = False

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def take(self) -> bytes:
        data, self.chunks = b"".join(self.chunks), []
        return data


def arrow_schema(columns: list[Column]) -> pa.Schema:
    fields = [
        pa.field(c.name, pa.binary() if c.is_geometry else _ARROW.get(c.type, pa.string())) for c in columns
    ]
    geometry = next((c for c in columns if c.is_geometry), None)
    metadata = None
    if geometry is not None:
        # GeoParquet 1.0, as the published .parquet of a geo dataset (geopandas writes the same).
        geo = {
            "version": "1.0.0",
            "primary_column": geometry.name,
            "columns": {geometry.name: {"encoding": "WKB", "geometry_types": [], "crs": None}},
        }
        geo["columns"][geometry.name].pop("crs")  # absent crs means OGC:CRS84, i.e. WGS 84 lon/lat
        metadata = {b"geo": json.dumps(geo).encode()}
    return pa.schema(fields, metadata=metadata)


def _table(columns: list[Column], schema: pa.Schema, rows: list[tuple]) -> pa.Table:
    arrays = []
    for index, (column, field) in enumerate(zip(columns, schema, strict=True)):
        values = [r[index] for r in rows]
        if column.is_geometry or pa.types.is_string(field.type):
            arrays.append(pa.array(values, type=field.type))
        else:
            arrays.append(pa.array(values, type=pa.string()).cast(field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


async def parquet_body(columns: list[Column], batches: AsyncIterator[list[tuple]]) -> AsyncIterator[bytes]:
    """One row group per streamed batch, handed out as soon as it is written."""
    schema = arrow_schema(columns)
    sink = _Sink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        async for rows in batches:
            writer.write_table(_table(columns, schema, rows))
            yield sink.take()
    finally:
        writer.close()
    yield sink.take()
