"""Strict validation of the 1M-row file against frictionless on a slice, and the floor under it."""

from __future__ import annotations

import csv
import os
import re
from pathlib import Path

from bench.common import FRICTIONLESS_SLICE, Row, log, timed, timed_cpu
from bench.inputs import DATA, head_slice


def _frictionless_errors(path: Path, schema) -> tuple[float, list[tuple[int, str, str]]]:
    import frictionless
    from frictionless import Detector

    from quality.schema import frictionless_descriptor

    fl_schema = frictionless.Schema.from_descriptor(frictionless_descriptor(schema.descriptor))
    resource = frictionless.Resource(
        path=path.name, basepath=str(path.parent), schema=fl_schema, detector=Detector(schema_sync=True)
    )
    # Best of 3 like ours: both sides get their warm runs.
    seconds, report = timed(lambda: resource.validate(limit_errors=10**9), repeat=3, warmup=1)
    out = []
    for task in report.tasks:
        for err in task.errors:
            if err.type == "type-error":
                out.append((err.row_number, err.field_name, "type"))
            elif err.type == "constraint-error":
                rule = re.match(r'constraint "(\w+)"', err.note)
                out.append((err.row_number, err.field_name, rule[1] if rule else "?"))
            else:
                out.append((err.row_number or 0, getattr(err, "field_name", ""), err.type))
    return seconds, out


def bench_strict(paths: dict[str, Path]) -> list[Row]:
    from assets.read.strict import STANDARD_RULES, validate_file
    from quality.schema import load_schema

    schema = load_schema("scdl-subventions")
    path = paths["1m-utf8"]
    seconds, cpu, report = timed_cpu(lambda: validate_file(path, schema), repeat=3, warmup=1)
    rows = report.rows
    ours_rate = rows / seconds
    log(f"strict validate_file: {rows} rows in {seconds:.2f} s, {len(report.errors)} errors")

    sliced = head_slice(path, FRICTIONLESS_SLICE, DATA / "subventions-100k-utf8.csv")
    fl_seconds, fl_errors = _frictionless_errors(sliced, schema)
    fl_rate = FRICTIONLESS_SLICE / fl_seconds
    slice_report = validate_file(sliced, schema)
    ours_slice = sorted(
        (int(r["row"]), r["field"], r["rule"])
        for r in slice_report.to_records()
        if r["rule"] in STANDARD_RULES
    )
    same = ours_slice == sorted(fl_errors)
    log(
        f"frictionless: {FRICTIONLESS_SLICE} rows in {fl_seconds:.2f} s, {len(fl_errors)} errors "
        f"(ours on the slice: {len(ours_slice)} standard errors, identical: {same})"
    )
    ratio = ours_rate / fl_rate
    frame_seconds, frame_cpu = _frame_only(path, schema)
    parse_seconds, parse_cpu = _parse_only(path)
    cores = os.cpu_count() or 1
    log(f"CPU seconds: validate_file {cpu:.2f}, Arrow parse {parse_cpu:.2f}, validate_frame {frame_cpu:.2f}")
    return [
        Row(
            "strict validation, 1M rows (read + validate_file)",
            ours_rate,
            "rows/s",
            f"frictionless validate, {FRICTIONLESS_SLICE:,}-row slice extrapolated",
            fl_rate,
            ratio,
            ">= 50x",
            ratio >= 50,
            f"errors on the slice: ours {len(ours_slice)}, frictionless {len(fl_errors)}, "
            f"{'identical (row, field, rule)' if same else 'DIFFERENT'}; "
            f"validate_frame alone {rows / frame_seconds:,.0f} rows/s "
            f"({rows / frame_seconds / fl_rate:.0f}x); the floor, Arrow's parse alone into text columns "
            f"(no check): {rows / parse_seconds:,.0f} rows/s ({rows / parse_seconds / fl_rate:.0f}x). "
            f"CPU time (all threads): validate_file {cpu:.2f} s, of which the parse alone takes "
            f"{parse_cpu:.2f} s and validate_frame {frame_cpu:.2f} s; on {cores} cores no scheduling "
            f"brings the wall time under {cpu / cores:.2f} s ({rows / (cpu / cores) / fl_rate:.0f}x), "
            f"and 50x needs {rows / (50 * fl_rate):.2f} s",
        )
    ]


def _parse_only(path: Path) -> tuple[float, float]:
    """Arrow's multi-threaded CSV parser reading every cell as text, nothing else: what no validator
    that reads the file can beat on this machine."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with path.open(encoding="utf-8", newline="") as fh:
        columns = next(csv.reader(fh))
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(columns, pa.string()), strings_can_be_null=False, null_values=[]
    )
    seconds, cpu, _ = timed_cpu(lambda: pacsv.read_csv(path, convert_options=convert), repeat=3, warmup=1)
    return seconds, cpu


def _frame_only(path: Path, schema) -> tuple[float, float]:
    from assets.read import read_table
    from quality.validate import validate_frame

    frame = read_table(path).frame
    present = [f.name for f in schema.fields if f.name in frame.columns]
    frame = frame[present]
    seconds, cpu, _ = timed_cpu(lambda: validate_frame(frame, schema), repeat=3, warmup=1)
    return seconds, cpu
