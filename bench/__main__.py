"""``python -m bench`` (``make bench``): each hot path measured beside its reference, in the same run.

Writes ``bench/results/<YYYY-MM-DD>.json`` and rewrites the results table of ``bench/README.md``
(between the ``<!-- results -->`` markers). Inputs are generated once under ``bench/data/``.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from dataclasses import asdict
from datetime import date
from pathlib import Path

from bench.common import HERE, Row, log
from bench.demo_run import bench_demo
from bench.inputs import ensure_inputs
from bench.memory import bench_stream
from bench.reading import bench_read
from bench.report import table_markdown, write_readme
from bench.strict import bench_strict
from bench.warehouse_load import bench_warehouse

BENCHES = {
    "strict": bench_strict,
    "read": bench_read,
    "warehouse": bench_warehouse,
    "stream": bench_stream,
}


def main(argv: list[str]) -> int:
    only = set(argv) or set(BENCHES) | {"demo"}
    started = time.perf_counter()
    # The generated inputs (GBs) are only for the file benchmarks: `python -m bench demo` needs none.
    paths: dict[str, Path] = {}
    if only & set(BENCHES):
        log("inputs…")
        paths = ensure_inputs()
    rows: list[Row] = []
    for name, fn in BENCHES.items():
        if name in only:
            log(f"== {name}")
            rows += fn(paths)
    if "demo" in only:
        log("== demo")
        rows += bench_demo()
    day = date.today().isoformat()
    results = HERE / "results"
    results.mkdir(exist_ok=True)
    # A subset run (`python -m bench demo`) updates its own rows in the day's results and keeps the others.
    previous = results / f"{day}.json"
    if previous.exists() and only < set(BENCHES) | {"demo"}:
        measured = {r.measure for r in rows}
        kept = [Row(**r) for r in json.loads(previous.read_text(encoding="utf-8"))["rows"]]
        order = [r.measure for r in kept]
        rows = [r for r in kept if r.measure not in measured] + rows
        rows.sort(key=lambda r: order.index(r.measure) if r.measure in order else len(order))
    payload = {
        "date": day,
        "machine": {
            "cpu_count": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "seconds_total": time.perf_counter() - started,
        "rows": [asdict(r) for r in rows],
    }
    (results / f"{day}.json").write_text(
        json.dumps(payload, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    if {r.measure for r in rows} and (only >= set(BENCHES) or previous.exists()):
        write_readme(table_markdown(rows, day))
    log(table_markdown(rows, day))
    log(f"total {payload['seconds_total']:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
