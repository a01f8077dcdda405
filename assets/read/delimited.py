"""Parsing a delimited text file (CSV/TSV/TXT) into staged frames, whole or in chunks of bounded memory.

The hot path parses with pyarrow (multi-threaded, all columns as strings) and computes row numbers
with a vectorised quote-parity scan of the bytes; when the file is irregular (ragged rows, stray
quotes) the block is re-read with the standard ``csv`` module, which is slower but exact.

Row numbers are the physical lines where records *start*: a quoted cell spanning three lines makes the
next record start three lines later. Ragged rows are never dropped: missing cells are padded with
``""``; extra non-empty cells go into extra columns named ``colonne_N``; both are reported as warnings.
"""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from assets.read.limits import MAX_COLUMNS, MAX_LINE_BYTES, MAX_RECORD_BYTES
from assets.read.rows import all_empty, drop_repeated_headers, line_list, ragged_warnings
from assets.read.sniff import CsvPlan, sniff_csv
from assets.read.staged import RefusedFile, StreamedTable


def stream_csv(path: Path, *, block_bytes: int | None, chunk_rows: int | None = None) -> StreamedTable:
    """A delimited file as a :class:`StreamedTable`: whole (``block_bytes`` and ``chunk_rows`` None) or
    in chunks of about ``chunk_rows`` rows."""
    plan = sniff_csv(path)
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
    for data, first_line in _utf8_blocks(path, plan, block_bytes):
        if b"\x00" in data:
            data = data.replace(b"\x00", b"")
            nul_seen = True
        frame, blanks = _parse_block(path, data, first_line, plan, ragged)
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


def _utf8_blocks(path: Path, plan: CsvPlan, block_bytes: int) -> Iterator[tuple[bytes, int]]:
    """UTF-8 bytes holding whole records, with the physical line number of their first line.

    Blocks are cut only after a newline that is outside any quoted cell (even number of quotes before
    it in the block), so a multi-line cell is never split between two chunks.
    """
    decoder = codecs.getincrementaldecoder(plan.codec)(errors=plan.errors) if plan.transcode else None
    to_skip = plan.body_first_line - 1
    line_no = 1
    carry = b""
    with path.open("rb") as fh:
        fh.seek(plan.bom_len)
        while True:
            raw = fh.read(block_bytes)
            # A short read is the end of the file: the last block needs no search for a record end.
            final = len(raw) < block_bytes
            data = decoder.decode(raw, final).encode("utf-8") if decoder is not None else raw
            if plan.cr_only:
                data = data.replace(b"\r", b"\n")
            buf = carry + data if carry else data
            if to_skip:
                pos = -1
                for _ in range(to_skip):
                    pos = buf.find(b"\n", pos + 1)
                    if pos < 0:
                        break
                if pos < 0 and not final:
                    carry = buf
                    continue
                buf = buf[pos + 1 :] if pos >= 0 else b""
                line_no += to_skip
                to_skip = 0
            if final:
                if buf:
                    yield buf, line_no
                return
            cut = _last_record_end(buf)
            if cut <= 0:
                if len(buf) > MAX_RECORD_BYTES:
                    raise RefusedFile(
                        path,
                        "line-too-long",
                        f"un enregistrement dépasse {MAX_RECORD_BYTES // 1024**2} Mo "
                        "(guillemet jamais refermé ?)",
                    )
                carry = buf
                continue
            yield buf[:cut], line_no
            line_no += buf.count(b"\n", 0, cut)
            carry = buf[cut:]


def _last_record_end(buf: bytes) -> int:
    if b'"' not in buf:
        return buf.rfind(b"\n") + 1
    arr = np.frombuffer(buf, np.uint8)
    newlines = np.flatnonzero(arr == 10)
    if not len(newlines):
        return 0
    quotes = np.flatnonzero(arr == 34)
    outside = np.flatnonzero(np.searchsorted(quotes, newlines) % 2 == 0)
    return int(newlines[outside[-1]]) + 1 if len(outside) else 0


def _parse_block(
    path: Path, data: bytes, first_line: int, plan: CsvPlan, ragged: dict[str, list[int]]
) -> tuple[pd.DataFrame, int]:
    """Frame of one block (index = physical line of each record) and its count of blank lines."""
    arr = np.frombuffer(data, np.uint8)
    newlines = np.flatnonzero(arr == 10)
    n_lines = len(newlines) + (1 if data and data[-1] != 10 else 0)
    starts = np.concatenate(([0], newlines + 1))[:n_lines]
    ends = np.concatenate((newlines, [len(data)]))[:n_lines]
    lengths = ends - starts
    if n_lines and int(lengths.max()) > MAX_LINE_BYTES:
        line = first_line + int(lengths.argmax())
        raise RefusedFile(path, "line-too-long", f"la ligne {line} dépasse {MAX_LINE_BYTES // 1024**2} Mo")
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
    frame = _parse_arrow(data, plan, multiline, int(lengths.max()) if n_lines else 0)
    if frame is None or len(frame) != len(record_lines):
        frame, record_lines, blanks = _parse_python(path, data, first_line, plan, ragged)
    frame.index = pd.Index(record_lines, dtype="int64")
    empty = all_empty(frame)
    if empty.any():
        blanks += int(empty.sum())
        frame = frame.loc[~empty]
    return frame, blanks


def _parse_arrow(data: bytes, plan: CsvPlan, multiline: bool, longest_line: int) -> pd.DataFrame | None:
    names = [f"f{i}" for i in range(len(plan.columns))]
    try:
        table = pacsv.read_csv(
            io.BytesIO(data),
            read_options=pacsv.ReadOptions(
                column_names=names, block_size=max(4 * 1024**2, 2 * longest_line + 1024), use_threads=True
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=plan.delimiter,
                quote_char='"',
                double_quote=True,
                escape_char=False,
                newlines_in_values=multiline,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.large_string() for n in names},  # pandas `str` holds large_string
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowException):
        return None  # ragged rows, stray quotes, huge records: the exact (slower) reader takes over
    # Cells stay in Arrow memory as pandas' ``str`` dtype: no Python object per cell (building them was
    # a third of the reading time and most of a chunk's memory), and the string methods of every
    # consumer run in C++.
    return pd.DataFrame(
        {column: pd.Series(table.column(i), dtype="str") for i, column in enumerate(plan.columns)},
        index=pd.RangeIndex(table.num_rows),
    )


def _parse_python(
    path: Path, data: bytes, first_line: int, plan: CsvPlan, ragged: dict[str, list[int]]
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The exact reader: the csv module gives, for each record, the line where it starts."""
    old_limit = csv.field_size_limit()
    csv.field_size_limit(MAX_RECORD_BYTES)
    try:
        reader = csv.reader(
            io.StringIO(data.decode("utf-8"), newline=""),
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
