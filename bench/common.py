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


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    """Best wall time of ``repeat`` runs (the machine is shared: the best run is the least disturbed)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        gc.collect()
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result


def log(text: str) -> None:
    print(text, flush=True)
