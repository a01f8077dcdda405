"""Loading a typed partition into PostgreSQL against a raw COPY of the same rows."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from bench.common import PG_SERVER, Row, log, timed


def bench_warehouse(paths: dict[str, Path]) -> list[Row]:
    import io

    import psycopg
    import pyarrow as pa
    import pyarrow.csv as pa_csv
    import sqlalchemy as sa
    from psycopg import sql

    from assets.read import read_table
    from quality.schema import load_schema
    from quality.validate import validate_frame
    from resources.warehouse import BatchRecord, Warehouse

    schema = load_schema("scdl-subventions")
    typed = validate_frame(read_table(paths["1m-utf8"]).frame, schema).typed
    rows = len(typed)
    server = sa.make_url(PG_SERVER)
    database = f"territoire_bench_{uuid.uuid4().hex[:8]}"
    admin = server.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    url = server.set(database=database).render_as_string(hide_password=False)
    warehouse = Warehouse(url=url)
    try:
        warehouse.setup()
        warehouse.ensure_dataset("subventions", schema)

        def load() -> None:
            batch = BatchRecord(
                batch_id=uuid.uuid4().hex,
                producer="bench",
                dataset="subventions",
                file_name=paths["1m-utf8"].name,
                sha256="0" * 64,
                received_at=datetime.now(UTC),
                rows_read=rows,
                rows_accepted=rows,
                rows_quarantined=0,
            )
            empty = pd.DataFrame({"source_row": [], "cells": [], "errors": []})
            warehouse.replace_partition(schema, "subventions", batch, typed, empty)

        ours_seconds, _ = timed(load, repeat=2)

        # Reference: the rows already serialised as CSV (untimed), then only DELETE + COPY.
        table = pa.Table.from_pandas(typed, preserve_index=False)
        table = table.add_column(0, "source_row", pa.array(typed.index.to_numpy()))
        table = table.append_column("producer", pa.array(["bench"] * rows)).append_column(
            "batch_id", pa.array(["raw"] * rows)
        )
        sink = io.BytesIO()
        pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False))
        payload = sink.getvalue()
        names = sql.SQL(", ").join(sql.Identifier(n) for n in schema.field_names)
        statement = sql.SQL(
            "COPY harmonised.subventions (source_row, {}, producer, batch_id) FROM STDIN "
            "(FORMAT csv, FORCE_NULL ({}))"
        ).format(names, names)
        raw = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)

        def copy() -> None:
            with psycopg.connect(raw) as conn, conn.cursor() as cur:
                cur.execute("DELETE FROM harmonised.subventions WHERE producer = 'bench'")
                with cur.copy(statement) as copy:
                    for start in range(0, len(payload), 8 * 1024**2):
                        copy.write(payload[start : start + 8 * 1024**2])

        ref_seconds, _ = timed(copy, repeat=2)
    finally:
        warehouse.dispose()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))
    ours, ref = rows / ours_seconds, rows / ref_seconds
    log(f"warehouse: replace_partition {ours_seconds:.2f} s; raw COPY {ref_seconds:.2f} s")
    return [
        Row(
            "warehouse load, 1M typed rows (replace_partition)",
            ours,
            "rows/s",
            "raw psycopg COPY of the same rows, CSV prepared beforehand (untimed)",
            ref,
            ours / ref,
            ">= 0.8x",
            ours / ref >= 0.8,
            "ours includes serialising the typed frame, the partition DELETE and the meta.batches row",
        )
    ]
