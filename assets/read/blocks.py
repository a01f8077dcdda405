"""Cutting a delimited file into blocks of whole records, with the line number each block starts on.

A block ends after a newline outside any quoted cell, so that a multi-line cell is never split between
two chunks; the lines above the header's body (title, header) are skipped. The bytes are UTF-8 — the
file's own, or transcoded from UTF-16 or broken UTF-8 — or, for a single-byte encoding, the file's own
bytes, decoded after parsing (:mod:`assets.read.single_byte`).
"""

from __future__ import annotations

import codecs
import mmap
import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np

from assets.read.limits import MAX_RECORD_BYTES
from assets.read.single_byte import SingleByteCodec
from assets.read.sniff import CsvPlan
from assets.read.staged import RefusedFile


def record_blocks(
    path: Path, plan: CsvPlan, block_bytes: int, single: SingleByteCodec | None
) -> Iterator[tuple[bytes | memoryview, int]]:
    """Bytes holding whole records, with the physical line number of their first line: UTF-8, or the
    file's own bytes when it is in a single-byte encoding (``single``).

    The last block may be a read-only memoryview of the mapped file, not ``bytes``.

    Blocks are cut only after a newline that is outside any quoted cell (even number of quotes before
    it in the block), so a multi-line cell is never split between two chunks.
    """
    transcode = plan.transcode and single is None
    decoder = codecs.getincrementaldecoder(plan.codec)(errors=plan.errors) if transcode else None
    to_skip = plan.body_first_line - 1
    line_no = 1
    carry = b""
    size = block_bytes
    with path.open("rb") as fh:
        fh.seek(plan.bom_len)
        if to_skip and decoder is None:
            # The file's bytes are the parser's bytes: start reading after the lines above the header's
            # body instead of slicing them off the first block (a copy of the whole file). The first
            # block ends where it did when it held those lines, so chunks keep their bounds.
            body = _body_offset(fh, to_skip, plan.cr_only)
            if body is None:
                return
            fh.seek(plan.bom_len + body)
            line_no += to_skip
            to_skip = 0
            size = max(block_bytes - body, 1)
        while True:
            if decoder is None and not carry and not plan.cr_only:
                mapped = _mapped_rest(fh, size)
                if mapped is not None:
                    yield mapped, line_no
                    return
            raw = fh.read(size)
            # A short read is the end of the file: the last block needs no search for a record end.
            final = len(raw) < size
            size = block_bytes
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
                size = (
                    len(buf)
                    if single is None or 3 * len(buf) <= MAX_RECORD_BYTES
                    else single.utf8_length(buf)
                )
                if size > MAX_RECORD_BYTES:
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


def _mapped_rest(fh: BinaryIO, size: int) -> memoryview | None:
    """The rest of the file, memory-mapped, when it is the last block (shorter than ``size``): Arrow's
    threads then fault its pages in as they parse, instead of one thread copying the whole file first
    (a tenth of the reading time of a large file). None when it is not the last block, or when the file
    cannot be mapped."""
    start = fh.tell()
    rest = os.fstat(fh.fileno()).st_size - start
    if not 0 < rest < size:
        return None
    try:
        mapped = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError):
        return None
    return memoryview(mapped)[start:]  # the view keeps the map open as long as it is used


def _body_offset(fh: BinaryIO, lines: int, cr_only: bool) -> int | None:
    """Offset (from the current position) just after the first ``lines`` lines, None if the file has
    fewer. A CR ends a line in an old Mac file, as in :func:`record_blocks`."""
    offset = 0
    while piece := fh.read(64 * 1024):
        if cr_only:
            piece = piece.replace(b"\r", b"\n")
        pos = -1
        while lines and (pos := piece.find(b"\n", pos + 1)) >= 0:
            lines -= 1
        if not lines:
            return offset + pos + 1
        offset += len(piece)
    return None


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
