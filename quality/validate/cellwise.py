"""Columns judged cell by cell with Arrow's kernels, when that costs less than their distinct values.

:func:`quality.validate.constraints.validate_column` hashes a column into its distinct values and
judges each once. For a plain string field whose only rules are emptiness, length and enum, or a
number column with as many distinct values as amounts have, the hashing alone costs more than Arrow's
comparison, length, regex and cast kernels over every cell. The verdicts are the same (the same
rule code runs, on cells instead of distinct values; tests/test_validate_arrow.py compares both); the
codes are computed only if the typed values or a custom check need them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from quality.schema import Field
from quality.validate.cells import arrow_text, factorize_text, take_cells
from quality.validate.constraints import ColumnResult, _cell_errors, _constraint_key, _unique_failures
from quality.validate.messages import rule_suffix
from quality.validate.types import _PLAIN_NUM, Parsed, parse_column

CellValidator = Callable[[pd.Series, Field, list[str]], ColumnResult]

# Rules Arrow judges on a million cells as fast as it hashes them (a pattern is not: RE2 over every
# cell costs far more than over the distinct values).
_STRING_RULES = {"required", "minLength", "maxLength", "enum"}
# A number column is read cell by cell when its first cells are this often distinct (amounts), not
# when they repeat (percentages, codes): hashing is cheap there and the distinct values few.
_DISTINCT_SHARE = 0.2
_PLAIN = f"^{_PLAIN_NUM}$"
_SAMPLE = 16_384


def cell_validator(f: Field, text: pd.Series, want_key: bool, want_codes: bool) -> CellValidator | None:
    """The cell-by-cell validator for this column, or None when its distinct values are the way."""
    if want_key or want_codes or not arrow_text(text) or f.constraints.get("unique"):
        return None
    if f.type == "string" and not f.format and set(f.constraints) <= _STRING_RULES:
        return validate_string_cells
    number_syntax = {"groupChar", "decimalChar", "bareNumber"} & f.descriptor.keys()
    if f.type == "number" and not number_syntax and _mostly_distinct(text):
        return validate_number_cells
    return None


def _mostly_distinct(text: pd.Series) -> bool:
    sample = pa.chunked_array(pa.array(text.array)).slice(0, _SAMPLE)
    return len(sample) > 0 and pc.count_distinct(sample).as_py() > _DISTINCT_SHARE * len(sample)


def _equal_any(arr: pa.ChunkedArray, values: list[str]) -> np.ndarray:
    """Cells equal to one of ``values`` (a few Arrow comparisons: cheaper than hashing every cell)."""
    found = np.zeros(len(arr), bool)
    for v in values:
        found |= pc.equal(arr, pa.scalar(v, arr.type)).to_numpy(zero_copy_only=False)
    return found


def _errors(
    arr: pa.ChunkedArray, text: pd.Series, f: Field, verdicts: list[tuple[str, np.ndarray]]
) -> list[pd.DataFrame]:
    """Error frames of the cells each rule fails, in the order of ``verdicts`` (as validate_column)."""
    errors: list[pd.DataFrame] = []
    labels = text.index.to_numpy()
    for rule, bad in verdicts:
        if bad.any():
            pos = np.flatnonzero(bad)
            shown = (
                np.full(len(pos), "", dtype=object)
                if rule == "required"  # a missing value is shown empty, as validate_column does
                else take_cells(arr, pos).to_numpy(zero_copy_only=False)
            )
            errors.append(_cell_errors(labels[pos], shown, f.name, rule, rule_suffix(f, rule)))
    return errors


def _checked(text: pd.Series, arr: pa.ChunkedArray, blank: np.ndarray) -> pd.Series:
    """What custom checks read: the text with missing and wrong-type cells blanked."""
    if not blank.any():
        return text
    emptied = pc.if_else(pa.array(blank), "", arr)
    return pd.Series(pd.array(emptied, dtype=text.dtype), index=text.index, copy=False)


def _missing(arr: pa.ChunkedArray, missing_values: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(missing, blanked, byte length) per cell; blanked = missing but not written empty.

    Emptiness is read from the byte lengths (the offsets Arrow already holds), not by comparing text.
    """
    nbytes = pc.binary_length(arr).to_numpy(zero_copy_only=False)
    blanked = _equal_any(arr, [v for v in missing_values if v != ""])
    missing = blanked | (nbytes == 0) if "" in missing_values else blanked
    return missing, blanked, nbytes


def _too_long(arr: pa.ChunkedArray, nbytes: np.ndarray, limit: float) -> np.ndarray:
    """Cells of more than ``limit`` code points: only those of more than ``limit`` bytes can be."""
    bad = np.zeros(len(arr), bool)
    candidates = np.flatnonzero(nbytes > limit)
    if len(candidates):
        length = pc.utf8_length(take_cells(arr, candidates)).to_numpy(zero_copy_only=False)
        bad[candidates] = length > limit
    return bad


def validate_string_cells(text: pd.Series, f: Field, missing_values: list[str]) -> ColumnResult:
    """A plain string field: emptiness, length (code points) and enum, on the cells."""
    arr = pa.chunked_array(pa.array(text.array))
    missing, blanked, nbytes = _missing(arr, missing_values)
    verdicts: list[tuple[str, np.ndarray]] = [("required", missing)] if f.required else []
    for rule, limit in f.constraints.items():
        if rule not in ("minLength", "maxLength", "enum") or limit is None:
            continue
        if rule == "enum":
            allowed = [a for a in (_constraint_key(v, f) for v in limit) if a is not None]
            bad = ~pc.is_in(arr, value_set=pa.array(allowed, arr.type)).to_numpy(zero_copy_only=False)
        elif rule == "maxLength":
            bad = _too_long(arr, nbytes, limit)
        else:
            bad = pc.utf8_length(arr).to_numpy(zero_copy_only=False) < limit
        verdicts.append((rule, bad & ~missing))

    def typed() -> pd.Series:
        codes, u = factorize_text(text)
        typed_u = np.where(u.isin(missing_values).to_numpy(bool), None, u.to_numpy(object))
        return pd.Series(typed_u[codes], index=text.index, dtype=object, copy=False)

    return ColumnResult(
        _errors(arr, text, f, verdicts), typed, None, _checked(text, arr, blanked), None, None
    )


def _plain_numbers(
    arr: pa.ChunkedArray, missing: np.ndarray
) -> tuple[pa.ChunkedArray, np.ndarray, np.ndarray]:
    """(the cells stripped, which are plain decimals, their float value) of a number column.

    Arrow's cast to float accepts exactly the plain decimals, plus ``inf``/``nan`` spellings (tested
    in tests/test_validate_arrow.py): when it accepts every present cell, only those whose value is
    not finite need the regex. Otherwise (a space around a number, a type error…) the cells are
    stripped and matched one by one, as ``str.strip`` and the regex would."""
    present = ~missing
    try:
        cast = pc.cast(arr if present.all() else pc.filter(arr, pa.array(present)), pa.float64())
    except pa.ArrowInvalid:
        stripped = pc.utf8_trim_whitespace(arr)  # what ``str.strip`` does on Arrow strings
        plain = present & pc.match_substring_regex(stripped, _PLAIN).to_numpy(zero_copy_only=False)
        values = np.full(len(arr), np.nan)
        if plain.any():
            values[plain] = pc.cast(pc.filter(stripped, pa.array(plain)), pa.float64()).to_numpy()
        return stripped, plain, values
    values = np.full(len(arr), np.nan)
    values[present] = cast.to_numpy()
    plain = present.copy()
    odd = np.flatnonzero(present & ~np.isfinite(values))
    if len(odd):  # 1e400 is plain (and no number: too large); ``inf`` and ``nan`` are not plain
        odd_plain = pc.match_substring_regex(take_cells(arr, odd), _PLAIN)
        plain[odd] = odd_plain.to_numpy(zero_copy_only=False)
    return arr, plain, values


def validate_number_cells(text: pd.Series, f: Field, missing_values: list[str]) -> ColumnResult:
    """A number field (Python's decimal syntax): plain decimals cast by Arrow, the rest parsed as usual.

    The rarer spellings (``1_000``, ``NaN``, a type error) are few: their distinct values go through
    :func:`quality.validate.types.parse_column` like any column's, so the verdicts cannot drift.
    """
    arr = pa.chunked_array(pa.array(text.array))
    missing, blanked, _ = _missing(arr, missing_values)
    stripped, plain, values = _plain_numbers(arr, missing)
    ok = plain & np.isfinite(values)  # 1e400 is no number here (types._parse_number says why)
    rest = np.flatnonzero(~missing & ~plain)
    rest_exact = np.zeros(0, dtype=object)
    if len(rest):
        codes, u = factorize_text(pd.Series(pd.array(take_cells(arr, rest), dtype=text.dtype)))
        p = parse_column(u, f)
        rest_ok = np.asarray(p.ok, bool)[codes]
        ok[rest] = rest_ok
        values[rest] = np.where(rest_ok, p.key.to_numpy(float)[codes], np.nan)
        rest_exact = np.where(rest_ok, np.asarray(p.typed.to_numpy(object), dtype=object)[codes], None)
    values[~ok] = np.nan

    verdicts: list[tuple[str, np.ndarray]] = [("required", missing)] if f.required else []
    verdicts.append(("type", ~missing & ~ok))
    key = pd.Series(values)
    verdicts += list(_unique_failures(key, Parsed(ok, key, key), f).items())

    def typed() -> pd.Series:
        # the number as written (stripped), as types._parse_number gives the warehouse
        exact = pc.if_else(pa.array(ok & plain), stripped, pa.scalar(None, stripped.type))
        out = exact.to_numpy(zero_copy_only=False)
        out[rest] = rest_exact
        return pd.Series(out, index=text.index, dtype=object, copy=False)

    blank = blanked | (~missing & ~ok)
    return ColumnResult(_errors(arr, text, f, verdicts), typed, None, _checked(text, arr, blank), None, None)
