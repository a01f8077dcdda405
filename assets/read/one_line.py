"""Whether Arrow's one-line-per-record reading of a block can be trusted: then a record's row number is its
position, and :mod:`assets.read.delimited` needs no scan of the block's quotes.

Why that is exact: blank lines were kept (Arrow makes each an all-empty record, which the caller drops
and counts as the scan would), no cell holds a quote, CR or LF — so no record spans two lines, and every
line has an even number of quotes, which is what the scan checks — so every line gave at least one
record; as many records as lines then means that no lone CR split a line either. No cell holds a NUL
byte either: Arrow keeps it as any other byte, and the slow path removes them.

The scans (every cell byte, every newline of the block) were a serial seventh of reading a large file:
they are cut into tasks for the pool that decodes the columns, and each slice of a scan stays in the CPU
cache instead of making a temporary array the size of a column.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pyarrow as pa

from assets.read.single_byte import cell_bytes

_SLICE = 1024**2  # bytes compared at once: the comparison's output stays in the CPU cache
_LINES_TASK = 32 * 1024**2  # bytes of newline counting per task: short tasks keep the cores even

Mapper = Callable[..., Iterator[Any]]  # builtin ``map`` or an executor's ``map``


def one_record_per_line(
    table: pa.Table, data: bytes | memoryview, run: Mapper = map, *, deferred: bool = False
) -> list[bool] | None:
    """For each column, whether a cell holds a byte >= 0x80 — when the records Arrow found are the
    block's lines, one each, in order; None otherwise. ``run`` maps the scans (on a pool's threads).

    ``deferred``: a column is not scanned past its first chunk holding a byte >= 0x80, and the caller
    must check its distinct values with :func:`plain` — a single-byte file's reader has them anyway, to
    decode them, and they are a few thousand values instead of a million cells."""
    scans = run(functools.partial(column_scan, deferred=deferred), table.columns)
    # The short newline counts last: they fill the cores evenly at the end.
    counts = run(lambda start: _newlines(data, start), range(0, len(data), _LINES_TASK))
    high = []
    for scan in scans:
        if scan is None:
            return None
        high.append(scan)
    lines = sum(counts) + (1 if data and data[-1] != 10 else 0)
    return high if table.num_rows == lines else None


def column_scan(column: pa.ChunkedArray, *, deferred: bool = False) -> bool | None:
    """None when a cell of ``column`` holds a quote, a line break or a NUL byte; otherwise whether a cell
    holds a byte >= 0x80 (in a single-byte file, a column to decode). ``deferred``: see
    :func:`one_record_per_line`."""
    high = False
    for chunk in column.chunks:
        cells = cell_bytes(chunk)
        high = high or int(cells.max(initial=0)) >= 0x80
        if high and deferred:
            return True
        if not plain(cells):
            return None
    return high


def plain(cells: np.ndarray) -> bool:
    """No quote, line break or NUL byte among the bytes of ``cells``."""
    if not len(cells):
        return True
    # The minimum rules out the four bytes at once in a column without spaces (codes, dates).
    low = int(cells.min())
    if low <= 13 and bool(np.any((cells == 10) | (cells == 13) | (cells == 0))):
        return False
    return not (low <= 34 and _holds(cells, 34))


def _holds(cells: np.ndarray, byte: int) -> bool:
    return any(bool((cells[i : i + _SLICE] == byte).any()) for i in range(0, len(cells), _SLICE))


def _newlines(data: bytes | memoryview, start: int) -> int:
    arr = np.frombuffer(data, np.uint8)[start : start + _LINES_TASK]
    return sum(int(np.count_nonzero(arr[i : i + _SLICE] == 10)) for i in range(0, len(arr), _SLICE))
