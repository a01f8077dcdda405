"""What every measurement shares: the result row, the timer, the log."""

from __future__ import annotations

import gc
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PG_SERVER = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/")
FRICTIONLESS_SLICE = 100_000


@dataclass
class Row:
    measure: str
    figure: float | None
    unit: str
    reference: str
    reference_figure: float | None
    ratio: float | None
    target: str
    met: bool | None
    note: str = ""


def timed(fn: Callable[[], Any], repeat: int = 1, warmup: int = 0) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs (the machine is shared: the best run is the least disturbed)."""
    wall, _cpu, result = timed_cpu(fn, repeat, warmup)
    return wall, result


def timed_cpu(fn: Callable[[], Any], repeat: int = 1, warmup: int = 0) -> tuple[float, float, Any]:
    """Best wall time of ``repeat`` runs after ``warmup`` untimed ones, and the CPU time (every thread of
    the process) of that run: on a 2-core machine, CPU seconds / 2 is the wall time no scheduling can beat.

    Each run starts with the previous result released, as a process handling one file after another
    does. ``warmup``: this machine is a VM whose host maps its memory on first touch, so the first runs
    of a process that allocates hundreds of MB take up to twice the steady time (measured: 1.28, 1.08,
    then 0.57–0.59 s for the strict validation) — what is compared is the steady throughput, both sides
    warmed alike."""
    best, cpu, result = float("inf"), 0.0, None
    for run in range(warmup + repeat):
        result = None
        gc.collect()
        started, cpu_started = time.perf_counter(), time.process_time()
        result = fn()
        wall = time.perf_counter() - started
        if run >= warmup and wall < best:
            best, cpu = wall, time.process_time() - cpu_started
    return best, cpu, result


def log(text: str) -> None:
    print(text, flush=True)
