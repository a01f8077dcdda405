"""Text columns as the validator reads them: NA as ``""``, and factorised into distinct values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def arrow_text(col: pd.Series) -> bool:
    """Whether the column's text is held by Arrow (a read frame's), so Arrow's kernels take it as it is."""
    return isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow"


def as_text(col: pd.Series) -> pd.Series:
    """The column as text with NA as "" (object or Arrow strings are kept as they are)."""
    if col.dtype != object and col.dtype != "str":
        col = col.astype("str")
    # A read frame has no NA (empty cells are ""): skip fillna's copy of a million cells per column.
    return col.fillna("") if col.hasnans else col


def take_cells(arr: pa.ChunkedArray, positions: np.ndarray) -> pa.Array:
    """The cells at increasing ``positions`` of a chunked column, taken chunk by chunk.

    Arrow's ``take`` on a chunked text column first concatenates every chunk: a copy of the whole
    column (90-170 ms in fresh memory for a text column of a million cells) to fetch a few thousand
    cells, when an error list or a rare spelling needs them.
    """
    starts = np.cumsum([0] + [len(c) for c in arr.chunks])
    cut = np.searchsorted(positions, starts)
    parts = [
        arr.chunk(i).take(pa.array(positions[cut[i] : cut[i + 1]] - starts[i]))
        for i in range(arr.num_chunks)
        if cut[i + 1] > cut[i]
    ]
    return pa.concat_arrays(parts) if parts else pa.array([], arr.type)


def factorize_text(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(codes, distinct values) of a text column, code -1 for NA, as ``pd.factorize`` (integer codes,
    int32 or wider).

    Arrow-backed strings (a read frame) are dictionary-encoded by Arrow in C++, which is several times
    faster than pandas' hash table; Arrow gives every chunk the same, final dictionary.
    """
    if arrow_text(text):
        encoded = pc.dictionary_encode(pa.array(text.array))
        chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
        if chunks:
            indices = [c.indices if c.null_count == 0 else c.indices.fill_null(-1) for c in chunks]
            # int32 as Arrow gives them: a widening copy of a million codes per column costs more
            # than numpy's cast of the few fancy-index lookups made with them.
            codes = np.concatenate([i.to_numpy() for i in indices])
            return codes, pd.Series(chunks[-1].dictionary, dtype="str")
    codes, uniques = pd.factorize(text)
    return codes, pd.Series(np.asarray(uniques, dtype=object), dtype=object)
