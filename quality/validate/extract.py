"""Parts of text values cut by a regex with named groups: Arrow's RE2 where it finds what Python's ``re``
finds, ``re`` elsewhere (the date, datetime and time parsers of :mod:`quality.validate.types`)."""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from quality.validate.cells import arrow_text

# Classes whose meaning differs between Python's ``re`` and RE2 even on ASCII text (``\s`` holds \v and
# \x1c-\x1f in Python's): a pattern using one is extracted by ``re``.
_RE2_DIFFERS = re.compile(r"\\[sSwWbB]")


def extract_parts(u: pd.Series, pattern: str) -> pd.DataFrame:
    r"""``u.str.extract(pattern)`` (named groups only), by Arrow's RE2 kernel when every value is ASCII.

    pandas' Arrow strings run ``extract`` through ``re`` value by value (about 10 µs each). On ASCII text
    and without the classes above, RE2 and ``re`` find the same groups (both take the leftmost
    alternative); a value with other characters keeps ``re``, whose ``\d`` also takes other digits, and
    so does a line break, before which ``re``'s ``$`` also matches. An optional group that took no part
    is NaN from ``re``, "" from RE2: the parsers read both as "" (``fillna("")``)."""
    if len(u) and arrow_text(u) and not _RE2_DIFFERS.search(pattern):
        arr = pa.chunked_array(pa.array(u.array))
        if pc.all(pc.string_is_ascii(arr)).as_py() and not pc.any(pc.match_substring(arr, "\n")).as_py():
            try:
                found = pc.extract_regex(arr, pattern)
            except pa.ArrowInvalid:  # a pattern RE2 does not know
                return u.str.extract(pattern)
            columns = {
                name: pd.Series(
                    pd.array(pc.struct_field(found, [i]), dtype=u.dtype), index=u.index, copy=False
                )
                for i, name in enumerate(found.type.names)
            }
            return pd.DataFrame(columns, index=u.index)
    return u.str.extract(pattern)
