"""Vectorised Table Schema validation of a text frame: the validator's entry point.

Every cell is text (``""`` or a schema ``missingValues`` entry = empty). The rules mirror frictionless 5
(the engine behind Validata) so that a file gets the same verdict here as on validata.fr: each column
against its field (:mod:`quality.validate.constraints`), the composite keys, then the schema's custom
checks (:mod:`quality.validate.checks`).

Columns are validated in a small thread pool: the heavy steps (Arrow's dictionary encoding and regex
kernels) release the GIL, so two columns progress at once on two cores.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd

from quality.schema import Field, TableSchema
from quality.validate.cells import as_text
from quality.validate.cellwise import cell_validator
from quality.validate.checks import run_custom_checks
from quality.validate.checks.verdicts import Encoded
from quality.validate.constraints import ColumnResult, key_errors, validate_column
from quality.validate.messages import empty_errors
from quality.validate.types import TYPED_DTYPES

# Threads validating columns at once; a small frame is not worth a pool.
_WORKERS = 2
_POOL_MIN_ROWS = 50_000


class Validation:
    """A frame's verdict: its ``errors``, its ``typed`` values (warehouse dtypes), its invalid rows.

    ``typed`` may be given as a function: it is then built on first read and kept. A strict
    validation (``validate_file``) never reads it, and a million object cells cost more than the
    checks themselves; the ingest reads it once.
    """

    __slots__ = ("_typed", "errors", "invalid_index")

    def __init__(
        self,
        errors: pd.DataFrame,
        typed: pd.DataFrame | Callable[[], pd.DataFrame],
        invalid_index: pd.Index,
    ) -> None:
        self.errors = errors
        self._typed = typed
        self.invalid_index = invalid_index

    @property
    def typed(self) -> pd.DataFrame:
        if callable(self._typed):
            self._typed = self._typed()
        return self._typed

    @property
    def valid(self) -> bool:
        return self.errors.empty


def _checked_columns(schema: TableSchema) -> set[str]:
    """Fields a custom check names in its parameters (``column``, ``columns``, ``column2``…)."""
    names: set[str] = set()
    for spec in schema.custom_checks:
        for value in (spec.get("params") or {}).values():
            names.update(v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str))
    return names & set(schema.field_names)


def _rank(f: Field, checked: set[str]) -> int:
    """The pool's order: the columns a check reads, then the dear ones, then the plain strings (a few
    ms each), so that no long column is left running alone at the end."""
    if f.name in checked:
        return 0
    lengths = {"required", "minLength", "maxLength"}
    return 2 if f.type == "string" and not f.format and set(f.constraints) <= lengths else 1


def _columns(
    frame: pd.DataFrame, schema: TableSchema, key_names: set[str]
) -> tuple[dict[str, ColumnResult], pd.DataFrame]:
    """Every present column's result, and the custom checks' errors.

    In the pool, the columns a check reads go first (:func:`_rank`); the checks then run in this thread
    while the pool judges the other columns, instead of after all of them (a sixth of a large file's
    validation)."""
    present = [f for f in schema.fields if f.name in frame.columns]
    # A column a check reads is factorised in the pool, where Arrow's hashing runs beside the rest.
    checked = _checked_columns(schema)

    def one(f: Field) -> ColumnResult:
        missing_values = [str(v) for v in f.descriptor.get("missingValues", schema.missing_values)]
        text, want_key = as_text(frame[f.name]), f.name in key_names
        cells = cell_validator(f, text, want_key=want_key, want_codes=f.name in checked)
        if cells is not None:
            return cells(text, f, missing_values)
        return validate_column(text, f, missing_values, want_key=want_key)

    def custom(results: dict[str, ColumnResult]) -> pd.DataFrame:
        read = {n: r for n, r in results.items() if n in checked}
        check_frame = pd.DataFrame({n: r.checked for n, r in read.items()}, index=frame.index, copy=False)
        encoded = {n: Encoded(r.checked, r.codes, r.uniques) for n, r in read.items()}
        return run_custom_checks(check_frame, schema, encoded)

    if len(frame) < _POOL_MIN_ROWS or len(present) < 2:
        results = {f.name: one(f) for f in present}
        return results, custom(results)
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        futures = {f.name: pool.submit(one, f) for f in sorted(present, key=lambda f: _rank(f, checked))}
        custom_errors = custom({n: futures[n].result() for n in futures if n in checked})
        return {f.name: futures[f.name].result() for f in present}, custom_errors


def validate_frame(frame: pd.DataFrame, schema: TableSchema) -> Validation:
    """Check a text frame against ``schema``: standard constraints, keys, then custom checks.

    Schema fields absent from the frame are not checked (the structure check reports them), as
    frictionless does with ``schema_sync``; their ``typed`` column is empty.
    """
    key_specs = [("primary-key", schema.primary_key, False)] if schema.primary_key else []
    key_specs += [("unique-keys", names, True) for names in schema.unique_keys]
    key_names = {n for _, names, _ in key_specs for n in names or []}
    results, custom_errors = _columns(frame, schema, key_names)

    errors: list[pd.DataFrame] = [
        e for f in schema.fields if f.name in results for e in results[f.name].errors
    ]

    def typed() -> pd.DataFrame:
        columns: dict[str, pd.Series] = {}
        for f in schema.fields:
            if f.name in results:
                columns[f.name] = results[f.name].typed()
            else:
                dtype = TYPED_DTYPES.get(f.type, object)
                columns[f.name] = pd.Series([None] * len(frame), index=frame.index, dtype=dtype)
        return pd.DataFrame(columns, index=frame.index, copy=False)

    for rule, names, skip_any_null in key_specs:
        if names and all(n in results for n in names):
            k = pd.DataFrame({n: pd.Series(results[n].key, index=frame.index, dtype=object) for n in names})
            t = pd.DataFrame({n: as_text(frame[n]) for n in names})
            errors.append(key_errors(k, t, names, rule, skip_any_null))

    errors.append(custom_errors)

    errors = [e for e in errors if not e.empty]
    all_errors = pd.concat(errors, ignore_index=True) if errors else empty_errors()
    if not all_errors.empty:
        # A key's label ("a, b") is no field: after the fields, as an unknown name always was.
        order = pd.Index(schema.field_names).get_indexer(all_errors["field"])
        all_errors["_f"] = np.where(order < 0, len(schema.field_names), order)
        all_errors = (
            all_errors.sort_values(["row", "_f"], kind="stable").drop(columns="_f").reset_index(drop=True)
        )
    invalid = _invalid_rows(frame.index, all_errors["row"].to_numpy())
    return Validation(errors=all_errors, typed=typed, invalid_index=invalid)


def _invalid_rows(index: pd.Index, rows: np.ndarray) -> pd.Index:
    """The labels of ``index`` that have an error, in the frame's order (``rows`` are labels of it).

    A read frame's index is its line numbers, increasing: the sorted distinct rows are the answer,
    without testing a million labels for membership."""
    if not len(rows):
        return index[:0]
    if index.is_monotonic_increasing and index.is_unique:
        return pd.Index(np.unique(rows), dtype=index.dtype, name=index.name)
    return index[index.isin(pd.unique(rows))]
