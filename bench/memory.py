"""A 5M-row file streamed in a subprocess: peak memory, and time against 1M rows."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from bench.common import ROOT, Row, log


def _stream_in_subprocess(path: Path) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.stream", str(path)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_stream(paths: dict[str, Path]) -> list[Row]:
    small = _stream_in_subprocess(paths["1m-utf8"])
    big = _stream_in_subprocess(paths["5m-utf8"])
    size = paths["5m-utf8"].stat().st_size
    gib = 1024**3
    per_row_small = small["seconds"] / small["rows"]
    per_row_big = big["seconds"] / big["rows"]
    linear = per_row_big <= 1.25 * per_row_small
    log(f"stream 1M: {small}; 5M: {big}")
    return [
        Row(
            "5M-row file streamed (iter_table → harmonise → validate per chunk): peak RSS",
            big["peak_rss_bytes"] / gib,
            "GiB",
            "file size on disk",
            size / gib,
            big["peak_rss_bytes"] / size,
            "<= 1.5 GB",
            big["peak_rss_bytes"] <= 1.5e9,
            f"{big['rows'] / big['seconds']:,.0f} rows/s over 5M rows",
        ),
        Row(
            "streaming time, 5M vs 1M rows",
            big["seconds"],
            "s",
            "1M rows, same pipeline",
            small["seconds"],
            big["seconds"] / small["seconds"],
            "linear (ratio ≈ 5)",
            linear,
            f"{per_row_big * 1e6:.1f} µs/row at 5M vs {per_row_small * 1e6:.1f} µs/row at 1M",
        ),
    ]
