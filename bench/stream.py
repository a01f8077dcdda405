"""One streaming pass over a big file, run in its own process so its peak RSS is its own.

``python -m bench.stream FILE`` reads the file chunk by chunk (``assets.read.iter_table``), harmonises
and validates each chunk, and prints one JSON line: rows, errors, seconds, peak RSS in bytes.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from assets.harmonise import harmonise
from assets.read import iter_table
from quality.schema import load_schema
from quality.validate import validate_frame


def stream(path: Path, chunk_rows: int = 200_000) -> dict[str, float]:
    schema = load_schema("scdl-subventions")
    started = time.perf_counter()
    rows = errors = 0
    table = iter_table(path, chunk_rows=chunk_rows)
    for chunk in table.chunks():
        harmonised = harmonise(chunk, schema)
        validation = validate_frame(harmonised.frame, schema)
        rows += len(chunk)
        errors += len(validation.errors) + len(harmonised.errors)
    seconds = time.perf_counter() - started
    # ru_maxrss is in KiB on Linux
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"rows": rows, "errors": errors, "seconds": seconds, "peak_rss_bytes": peak}


if __name__ == "__main__":
    print(json.dumps(stream(Path(sys.argv[1]))))
