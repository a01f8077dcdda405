"""Cells of a file in a single-byte encoding (cp1252, latin-1, mac_roman, cp850…), decoded after parsing.

Why this exists: in every ASCII-compatible single-byte encoding the separators, quotes and line breaks
are the same ASCII bytes as in UTF-8, so Arrow's parser can split the file's *original* bytes into cells
(as binary) and nobody has to transcode the whole file first. Transcoding was the largest cost of reading
such a file: Python's charmap codec runs on one core at ~200 MB/s, then the text had to be encoded back
to UTF-8 for Arrow.

The cells are then decoded column by column:

- a column without any byte >= 0x80 is ASCII, hence already valid UTF-8: it is relabelled as text,
  without a copy (most columns of a real file: identifiers, dates, amounts, codes);
- another column is dictionary-encoded by Arrow (C++) and only its *distinct* values go through the
  codec — joined into one blob with NUL between them, so that it is one codec call and not one per
  value, then split again by Arrow — and the decoded values are fanned out with ``take``. A producer's
  column repeats its communes, natures and objects: a few thousand values are decoded instead of a
  million cells.

Each byte is one character in these encodings, so decoding the cells one by one or the whole file at
once gives the same text (the test suite checks it).
"""

from __future__ import annotations

import codecs
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# The encodings the sniffer may choose for a non-UTF-8 file (assets.read.sniff.TEXT_SINGLE_BYTE) and
# their aliases; all are ASCII-compatible, one byte per character.
_SINGLE_BYTE = frozenset(
    codecs.lookup(name).name for name in ("cp1252", "latin_1", "iso8859_15", "mac_roman", "cp850")
)
_NUL = pa.scalar(b"\x00", pa.large_binary())


@dataclass(frozen=True)
class SingleByteCodec:
    """How to decode the bytes of a single-byte-encoded file: the Python codec and its error handler,
    and how many UTF-8 bytes each source byte becomes (for the size limits, which are in UTF-8)."""

    codec: str
    errors: str
    utf8_bytes: np.ndarray  # int64[256]: UTF-8 length of each byte's character (1 to 3)

    def decode(self, data: bytes) -> str:
        return data.decode(self.codec, self.errors)

    def utf8_length(self, data: bytes) -> int:
        """Length of ``data`` once transcoded to UTF-8, without transcoding it."""
        counts = np.bincount(np.frombuffer(data, np.uint8), minlength=256)
        return int(counts @ self.utf8_bytes)

    def text_column(
        self,
        column: pa.ChunkedArray,
        high: bool | None = None,
        values_ok: Callable[[np.ndarray], bool] | None = None,
    ) -> pa.ChunkedArray | None:
        """A column of cells parsed as ``large_binary`` as ``large_string`` (what pandas' ``str`` holds);
        ``high``: whether a cell holds a byte >= 0x80, when the caller already scanned them.
        ``values_ok``: a test of the bytes of the distinct values of a column to decode; None when they
        fail it."""
        if high is None:
            high = any(cell_bytes(chunk).max(initial=0) >= 0x80 for chunk in column.chunks)
        if not high:
            return pa.chunked_array([c.view(pa.large_string()) for c in column.chunks], pa.large_string())
        encoded = pc.dictionary_encode(column)
        # Arrow gives every chunk the same, final dictionary: decode each distinct dictionary once.
        decoded: dict[tuple[int, ...], pa.Array] = {}
        chunks = []
        for chunk in encoded.chunks:
            dictionary = chunk.dictionary
            key = (len(dictionary), *(b.address if b is not None else 0 for b in dictionary.buffers()))
            if key not in decoded:
                if values_ok is not None and not values_ok(cell_bytes(dictionary)):
                    return None
                decoded[key] = self._decode_values(dictionary)
            chunks.append(decoded[key].take(chunk.indices))
        return pa.chunked_array(chunks, pa.large_string())

    def _decode_values(self, values: pa.Array) -> pa.Array:
        if not len(values):
            return pa.array([], pa.large_string())
        # NUL cannot be in a cell (assets.read.delimited removes NUL bytes before parsing), so it can
        # separate the values in one blob; checked, with a per-value decoding as the fallback.
        blob = pc.binary_join(
            pa.LargeListArray.from_arrays(pa.array([0, len(values)], pa.int64()), values), _NUL
        )
        text = self.decode(blob[0].as_py())
        parts = pc.split_pattern(pa.array([text], pa.large_string()), "\x00").flatten()
        if len(parts) == len(values):
            return parts
        return pa.array([self.decode(v) for v in values.to_pylist()], pa.large_string())


def single_byte_codec(codec: str, errors: str) -> SingleByteCodec | None:
    """The codec when ``codec`` is one of the single-byte encodings whose cells can be decoded after
    parsing; None for UTF-8 and UTF-16 (their bytes are passed through or transcoded first)."""
    try:
        name = codecs.lookup(codec).name
    except LookupError:
        return None
    if name not in _SINGLE_BYTE:
        return None
    chars = [bytes([b]).decode(codec, errors) for b in range(256)]
    if any(len(c) != 1 for c in chars) or any(chars[b] != chr(b) for b in range(128)):
        return None  # not one ASCII-compatible character per byte: decode the whole file instead
    return SingleByteCodec(codec, errors, np.array([len(c.encode("utf-8")) for c in chars], np.int64))


def cell_bytes(chunk: pa.Array) -> np.ndarray:
    """The bytes of the cells of one chunk of a binary or string array (without a copy)."""
    if chunk.type not in (pa.large_binary(), pa.large_string()):
        raise TypeError(f"large_binary or large_string expected, not {chunk.type}")
    _, offsets, data = chunk.buffers()
    if data is None or not len(chunk):
        return np.zeros(0, np.uint8)
    bounds = np.frombuffer(offsets, np.int64, count=chunk.offset + len(chunk) + 1)
    return np.frombuffer(data, np.uint8)[bounds[chunk.offset] : bounds[-1]]
