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

from assets.harmonise.frame import harmonise
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
    return {"rows": rows, "errors": errors, "seconds": seconds, "peak_rss_bytes": peak_rss_bytes()}


def peak_rss_bytes() -> int:
    """Peak RSS of this process's own address space.

    Not ``getrusage``: Linux carries ``ru_maxrss`` across fork + exec, so a child started by the bench
    reported the parent's peak at the time of the fork (2.3 GB after the strict benchmark, the same
    for 1M and 5M rows). ``VmHWM`` belongs to the address space created by exec.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


if __name__ == "__main__":
    print(json.dumps(stream(Path(sys.argv[1]))))
