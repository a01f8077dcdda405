"""Materialise the ``subventions`` ingest partition of each producer whose inbox holds a hostile file.

Usage: ``python hostile_run.py <home> <url> <producer>...``; prints one JSON line per partition. Run
in a child process so the test can measure its peak memory (``RUSAGE_CHILDREN``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the shared run helper

from pipeline_runs import pipeline_runs  # noqa: E402


def main(home: str, url: str, producers: list[str]) -> None:
    runs = pipeline_runs(home, url)
    for producer in producers:
        result = runs.ingest(producer)
        print(json.dumps({"producer": producer, "success": result.success}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
