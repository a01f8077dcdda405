"""Parsing a delimited text file (CSV/TSV/TXT) into staged frames, whole or in chunks of bounded memory.

The hot path parses with pyarrow (multi-threaded, all columns as strings) and, when every line of the
block is one record, numbers the rows by their position (see :mod:`assets.read.one_line` for why that
is exact); otherwise row numbers come from a vectorised quote-parity scan of the bytes, and when the
file is irregular (ragged rows, stray quotes) the block is re-read with the standard ``csv`` module,
which is slower but exact.

A file in a single-byte encoding (cp1252, latin-1…) is parsed as it is, its cells as binary, and decoded
cell by cell afterwards (:mod:`assets.read.single_byte`); a UTF-16 file or a UTF-8 file with broken
bytes is transcoded to UTF-8 before parsing. A file read whole whose first bytes are UTF-8 is not
decoded by Python first: its block is checked whole by Arrow's validator before Arrow parses it
(:mod:`assets.read.utf8`), and a block that is not UTF-8 or leaves the fast path sends the file back to
a sniff that checks it all (:func:`stream_csv`).

Row numbers are the physical lines where records *start*: a quoted cell spanning three lines makes the
next record start three lines later. Ragged rows are never dropped: missing cells are padded with
``""``; extra non-empty cells go into extra columns named ``colonne_N``; both are reported as warnings.
"""

from __future__ import annotations

import csv
import io
import mmap
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from assets.read.blocks import record_blocks
from assets.read.limits import MAX_COLUMNS, MAX_LINE_BYTES, MAX_RECORD_BYTES
from assets.read.one_line import Mapper, one_record_per_line, plain
from assets.read.rows import all_empty, drop_repeated_headers, line_list, ragged_warnings
from assets.read.single_byte import SingleByteCodec, single_byte_codec
from assets.read.sniff import CsvPlan, sniff_csv
from assets.read.staged import RefusedFile, StreamedTable
from assets.read.utf8 import is_utf8

# Arrow accepts a line of up to about twice its block size; with 4 MiB blocks every line of the fast
# path stays far below MAX_LINE_BYTES, even once transcoded (3 UTF-8 bytes per source byte at most), so
# it needs no scan of line lengths: a longer line makes Arrow fail and the scanned path refuses it.
FAST_BLOCK_BYTES = MAX_LINE_BYTES // 8
_THREADED_ROWS = 50_000  # below, starting threads costs more than decoding the columns


class _Unverified(Exception):
    """A block left the fast path while the file's UTF-8 was only presumed from its first bytes."""


def stream_csv(path: Path, *, block_bytes: int | None, chunk_rows: int | None = None) -> StreamedTable:
    """A delimited file as a :class:`StreamedTable`: whole (``block_bytes`` and ``chunk_rows`` None) or
    in chunks of about ``chunk_rows`` rows."""
    if block_bytes is None and chunk_rows is None:
        # Whole, the file is one block parsed before anything is handed out: the block's own UTF-8
        # check stands for the sniff's, and the file is sniffed again, checked whole, only if its block
        # is not UTF-8 or leaves the fast path.
        try:
            return _stream(path, sniff_csv(path, verify_utf8=False), None, None).materialise()
        except _Unverified:
            return _stream(path, sniff_csv(path), None, None).materialise()
    return _stream(path, sniff_csv(path), block_bytes, chunk_rows)


def _stream(path: Path, plan: CsvPlan, block_bytes: int | None, chunk_rows: int | None) -> StreamedTable:
    if block_bytes is None:
        if chunk_rows is None:
            block_bytes = path.stat().st_size + 1
        else:
            block_bytes = int(min(max(chunk_rows * plan.avg_line_bytes, 64 * 1024), 512 * 1024**2))
    stream = StreamedTable(
        path=path,
        format="tsv" if plan.delimiter == "\t" else "csv",
        encoding=plan.label,
        delimiter=plan.delimiter,
        header_line=plan.header_line,
        sheet=None,
        columns=list(plan.columns),
        warnings=list(plan.warnings),
    )
    frames = _csv_frames(path, plan, block_bytes, stream)
    if chunk_rows is not None:
        # A block holds about chunk_rows rows (estimated from the sample); slicing makes it a promise.
        frames = (f.iloc[i : i + chunk_rows] for f in frames for i in range(0, len(f), chunk_rows))
    stream._source = frames
    return stream


def _csv_frames(path: Path, plan: CsvPlan, block_bytes: int, stream: StreamedTable) -> Iterator[pd.DataFrame]:
    repeated: list[int] = []
    ragged: dict[str, list[int]] = {"short": [], "long": []}
    nul_seen = False
    single = single_byte_codec(plan.codec, plan.errors) if plan.transcode else None
    for data, first_line in record_blocks(path, plan, block_bytes, single):
        frame, blanks, nul = _parse_block(path, data, first_line, plan, ragged, single)
        nul_seen |= nul
        frame, dropped = drop_repeated_headers(frame, plan.header_fields)
        repeated += dropped
        stream.blank_lines_dropped += blanks
        stream.rows_read += len(frame)
        if len(frame):
            yield frame
    if nul_seen:
        stream.warnings.append(
            "Des octets nuls (NUL) ont été trouvés dans des cellules : ils ont été supprimés."
        )
    stream.warnings += ragged_warnings(ragged, len(plan.columns))
    if repeated:
        stream.warnings.append(
            f"La ligne d'en-tête est répétée {len(repeated)} fois dans le fichier "
            f"(ligne(s) {line_list(repeated)}) : "
            "ces répétitions ne sont pas des données et sont ignorées."
        )
    if stream.rows_read == 0:
        raise RefusedFile(
            path, "header-only", "il ne contient qu'une ligne d'en-tête, sans aucune ligne de données"
        )


def _has_nul(data: bytes | memoryview) -> bool:
    if isinstance(data, bytes):
        return b"\x00" in data
    if isinstance(data.obj, mmap.mmap):  # the rest of a mapped file (blocks.py): memchr, not a pass
        return data.obj.find(b"\x00", len(data.obj) - len(data)) >= 0
    return not np.frombuffer(data, np.uint8).all()


def _parse_block(
    path: Path,
    data: bytes | memoryview,
    first_line: int,
    plan: CsvPlan,
    ragged: dict[str, list[int]],
    single: SingleByteCodec | None,
) -> tuple[pd.DataFrame, int, bool]:
    """Frame of one block (index = physical line of each record), its count of blank lines and whether
    NUL bytes were removed; the block may be a view of the mapped file, which only the slow path copies."""
    table = _arrow_table(data, plan, single, multiline=False, block_size=FAST_BLOCK_BYTES, keep_blank=True)
    nul = False
    frame = None if table is None else _fast_frame(table, data, plan, single)
    if frame is not None:
        frame.index = pd.Index(first_line + np.arange(len(frame), dtype="int64"), dtype="int64")
        blanks = 0
    elif not plan.utf8_verified:
        # The block is not UTF-8, or left the fast path, while the file's UTF-8 was only presumed: the
        # slow paths decode it, so the file is sniffed again, checked whole (and cheaply: utf8.py).
        raise _Unverified
    else:
        if _has_nul(data):
            # Looked for only here: on the fast path a NUL byte would be in a cell, which sends the block
            # here. Also what lets single_byte join distinct values with NUL: no cell can hold one.
            data = bytes(data).replace(b"\x00", b"")
            nul, table = True, None
        frame, blanks = _parse_scanned(path, data, first_line, plan, ragged, single, table)
    empty = all_empty(frame)
    if empty.any():
        blanks += int(empty.sum())
        frame = frame.loc[~empty]
    return frame, blanks, nul


def _parse_scanned(
    path: Path,
    data: bytes | memoryview,
    first_line: int,
    plan: CsvPlan,
    ragged: dict[str, list[int]],
    single: SingleByteCodec | None,
    table: pa.Table | None,
) -> tuple[pd.DataFrame, int]:
    """Frame of a block whose row numbers need its lines and quotes (multi-line cells, blank lines,
    stray quotes), with its count of blank lines; ``table`` is Arrow's one-line-per-record reading, if
    it succeeded."""
    data = bytes(data)  # a view of the mapped file: the scans and the csv module need bytes
    arr = np.frombuffer(data, np.uint8)
    newlines = np.flatnonzero(arr == 10)
    n_lines = len(newlines) + (1 if data and data[-1] != 10 else 0)
    starts = np.concatenate(([0], newlines + 1))[:n_lines]
    ends = np.concatenate((newlines, [len(data)]))[:n_lines]
    lengths = ends - starts
    if n_lines:
        _check_line_lengths(path, data, first_line, starts, ends, single)
    has_cr = (lengths > 0) & (arr[np.maximum(ends - 1, 0)] == 13) if len(arr) else lengths > 0
    content = lengths - has_cr
    multiline = False
    record_start = np.ones(n_lines, dtype=bool)
    if b'"' in data and n_lines:
        # Parity of the quotes on each line in one pass (no array of quote positions: a file quoting
        # every cell has tens of millions of them).
        odd = np.bitwise_xor.reduceat((arr == 34).view(np.uint8), starts).astype(np.int64)
        record_start = ((np.cumsum(odd) - odd) & 1) == 0
        multiline = not bool(record_start.all())
    blank = record_start & (content == 0)
    record_lines = first_line + np.flatnonzero(record_start & ~blank)
    blanks = int(blank.sum())
    if table is not None and not multiline and not blank.any():
        frame = _frame(table, plan, single)  # what a second reading with the same options would give
    else:
        longest = int(lengths.max()) if n_lines else 0
        table = None  # not kept alive beside the second reading
        table = _arrow_table(
            data, plan, single, multiline=multiline, block_size=max(4 * 1024**2, 2 * longest + 1024)
        )
        frame = None if table is None else _frame(table, plan, single)
    if frame is None or len(frame) != len(record_lines):
        frame, record_lines, blanks = _parse_python(path, data, first_line, plan, ragged, single)
    frame.index = pd.Index(record_lines, dtype="int64")
    return frame, blanks


def _check_line_lengths(
    path: Path,
    data: bytes,
    first_line: int,
    starts: np.ndarray,
    ends: np.ndarray,
    single: SingleByteCodec | None,
) -> None:
    """Refuse a block whose longest line is over MAX_LINE_BYTES of UTF-8 text."""
    lengths = ends - starts
    if single is not None and int(lengths.max()) * 3 > MAX_LINE_BYTES:
        # The limit is on the text as UTF-8: measure exactly the lines that might pass it.
        lengths = lengths.copy()
        for i in np.flatnonzero(lengths * 3 > MAX_LINE_BYTES):
            lengths[i] = single.utf8_length(data[starts[i] : ends[i]])
    if int(lengths.max()) > MAX_LINE_BYTES:
        line = first_line + int(lengths.argmax())
        raise RefusedFile(path, "line-too-long", f"la ligne {line} dépasse {MAX_LINE_BYTES // 1024**2} Mo")


def _arrow_table(
    data: bytes | memoryview,
    plan: CsvPlan,
    single: SingleByteCodec | None,
    *,
    multiline: bool,
    block_size: int,
    keep_blank: bool = False,
) -> pa.Table | None:
    """Arrow's reading of a block, every column as text (binary for a single-byte encoding: decoded
    afterwards); None when Arrow cannot read it (ragged rows, stray quotes, a line over twice the block
    size), and the exact reader takes over."""
    if single is None and not plan.utf8_verified and not is_utf8(data):
        return None  # as when Arrow's cell-by-cell check failed: the file is sniffed again, whole
    names = [f"f{i}" for i in range(len(plan.columns))]
    # pandas' ``str`` holds large_string; the cells of a single-byte file become one in _frame.
    cell_type = pa.large_binary() if single is not None else pa.large_string()
    try:
        return pacsv.read_csv(
            pa.BufferReader(pa.py_buffer(data)),  # no copy of the block
            read_options=pacsv.ReadOptions(column_names=names, block_size=block_size, use_threads=True),
            parse_options=pacsv.ParseOptions(
                delimiter=plan.delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=multiline,
                ignore_empty_lines=not keep_blank,
            ),
            convert_options=pacsv.ConvertOptions(
                # The bytes are UTF-8 already: verified by the sniff, transcoded by Python, or checked
                # whole just above (a fifth of the parse's CPU when Arrow checks cell by cell).
                check_utf8=False,
                column_types={n: cell_type for n in names},
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None


def _fast_frame(
    table: pa.Table, data: bytes | memoryview, plan: CsvPlan, single: SingleByteCodec | None
) -> pd.DataFrame | None:
    """The block's frame when every line of ``data`` is one of Arrow's records (:mod:`.one_line`), its
    rows then numbered by position; None otherwise."""
    # A column to decode has its distinct values checked instead of its cells (one_line ``deferred``).
    deferred = single is not None
    if table.num_rows < _THREADED_ROWS:
        high = one_record_per_line(table, data, deferred=deferred)
        return None if high is None else _frame(table, plan, single, high=high, values_ok=plain)
    # The scans and the decoding are numpy and Arrow work that releases the GIL: both run on every core,
    # the scans first so that a block leaving the fast path has decoded little.
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        high = one_record_per_line(table, data, pool.map, deferred=deferred)
        frame = None if high is None else _frame(table, plan, single, pool.map, high, plain)
        if frame is None:
            pool.shutdown(cancel_futures=True)
        return frame


def _frame(
    table: pa.Table,
    plan: CsvPlan,
    single: SingleByteCodec | None,
    run: Mapper | None = None,
    high: list[bool] | None = None,
    values_ok: Callable[[np.ndarray], bool] | None = None,
) -> pd.DataFrame | None:
    """``high``: which columns hold a byte >= 0x80, when a scan already knows; ``values_ok``: a test of
    the distinct values of the columns to decode, None when one fails it."""
    # Cells stay in Arrow memory as pandas' ``str`` dtype: no Python object per cell (building them was
    # a third of the reading time and most of a chunk's memory), and the string methods of every
    # consumer run in C++.
    columns = [table.column(i) for i in range(len(plan.columns))]
    if single is not None:
        highs = high if high is not None else [None] * len(columns)
        checks = [values_ok] * len(columns)
        if run is None and table.num_rows >= _THREADED_ROWS:
            # Decoding is mostly Arrow work (dictionary, take) that releases the GIL: a column per core.
            with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
                decoded = list(pool.map(single.text_column, columns, highs, checks))
        else:
            decoded = list((run or map)(single.text_column, columns, highs, checks))
        if any(c is None for c in decoded):
            return None
        columns = decoded
    return pd.DataFrame(
        {name: pd.Series(column, dtype="str") for name, column in zip(plan.columns, columns, strict=True)},
        index=pd.RangeIndex(table.num_rows),
    )


def _parse_python(
    path: Path,
    data: bytes,
    first_line: int,
    plan: CsvPlan,
    ragged: dict[str, list[int]],
    single: SingleByteCodec | None,
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The exact reader: the csv module gives, for each record, the line where it starts."""
    old_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_RECORD_BYTES)
    try:
        reader = csv.reader(
            io.StringIO(single.decode(data) if single is not None else data.decode("utf-8"), newline=""),
            delimiter=plan.delimiter,
            quotechar='"',
            strict=False,
        )
        width = len(plan.columns)
        rows: list[list[str]] = []
        lines: list[int] = []
        blanks = 0
        previous = 0
        for fields in reader:
            start = first_line + previous
            previous = reader.line_num
            if not fields:
                blanks += 1
                continue
            if len(fields) < width:
                ragged["short"].append(start)
                fields = fields + [""] * (width - len(fields))
            elif len(fields) > width:
                if any(f.strip() for f in fields[width:]):
                    ragged["long"].append(start)
                else:
                    fields = fields[:width]
            rows.append(fields)
            lines.append(start)
    finally:
        csv.field_size_limit(old_limit)
    longest = max((len(r) for r in rows), default=width)
    if longest > MAX_COLUMNS:
        raise RefusedFile(
            path, "too-many-columns", f"une ligne a {longest} cellules (maximum accepté : {MAX_COLUMNS})"
        )
    columns = plan.columns + [f"colonne_{i + 1}" for i in range(width, longest)]
    frame = pd.DataFrame([r + [""] * (longest - len(r)) for r in rows], columns=columns, dtype=object)
    if frame.empty:
        frame = pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    return frame, np.asarray(lines, dtype="int64"), blanks
