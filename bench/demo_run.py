"""The demo territory from a fresh home, and the run with nothing new (the lead's rows)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from bench.common import ROOT, Row


def bench_demo() -> list[Row]:
    import shutil
    import tempfile

    territoire = Path(sys.executable).parent / "territoire"
    rows = [
        Row(
            "whole demo wall time (territoire demo && territoire run)",
            None,
            "s",
            "",
            None,
            None,
            "<= 30 s",
            None,
            "to measure",
        ),
        Row(
            "re-run with nothing new (territoire run)",
            None,
            "s",
            "",
            None,
            None,
            "<= 3 s",
            None,
            "to measure",
        ),
    ]
    if not territoire.exists() or os.environ.get("BENCH_SKIP_DEMO"):
        return rows
    home = Path(tempfile.mkdtemp(prefix="territoire-bench-"))
    # The environment as the user has it (this machine sets PYTHONDONTWRITEBYTECODE=1): `make bench`
    # depends on `make install`, which compiled the bytecode once, as `make demo` finds it.
    env = os.environ | {"TERRITOIRE_HOME": str(home)}
    try:
        started = time.perf_counter()
        for command in ("demo", "run"):
            try:
                done = subprocess.run(
                    [str(territoire), command], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
                )
            except subprocess.TimeoutExpired:
                rows[0].note = f"`territoire {command}` still running after 300 s: to measure"
                return rows
            if done.returncode != 0:
                rows[0].note = f"`territoire {command}` failed (exit {done.returncode}): to measure"
                return rows
        first = time.perf_counter() - started
        started = time.perf_counter()
        done = subprocess.run([str(territoire), "run"], env=env, cwd=ROOT, capture_output=True, text=True)
        second = time.perf_counter() - started
        rows[0] = Row(
            rows[0].measure, first, "s", "", None, None, "<= 30 s", first <= 30, "fresh TERRITOIRE_HOME"
        )
        rows[1] = Row(
            rows[1].measure,
            second,
            "s",
            "",
            None,
            None,
            "<= 3 s",
            second <= 3 and done.returncode == 0,
            f"exit {done.returncode}",
        )
    finally:
        subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from pathlib import Path; "
                "from resources.postgres_server import stop_server; stop_server(Path(sys.argv[1]))",
                str(home),
            ],
            cwd=ROOT,
            capture_output=True,
        )
        shutil.rmtree(home, ignore_errors=True)
    return rows
