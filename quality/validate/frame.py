"""Vectorised Table Schema validation of a text frame: the validator's entry point.

Every cell is text (``""`` or a schema ``missingValues`` entry = empty). The rules mirror frictionless 5
(the engine behind Validata) so that a file gets the same verdict here as on validata.fr: each column
against its field (:mod:`quality.validate.constraints`), the composite keys, then the schema's custom
checks (:mod:`quality.validate.checks`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from quality.schema import TableSchema
from quality.validate.cells import as_text
from quality.validate.checks import run_custom_checks
from quality.validate.constraints import key_errors, validate_column
from quality.validate.messages import empty_errors
from quality.validate.types import TYPED_DTYPES


@dataclass(frozen=True)
class Validation:
    errors: pd.DataFrame
    typed: pd.DataFrame
    invalid_index: pd.Index

    @property
    def valid(self) -> bool:
        return self.errors.empty


def validate_frame(frame: pd.DataFrame, schema: TableSchema) -> Validation:
    """Check a text frame against ``schema``: standard constraints, keys, then custom checks.

    Schema fields absent from the frame are not checked (the structure check reports them), as
    frictionless does with ``schema_sync``; their ``typed`` column is empty.
    """
    errors: list[pd.DataFrame] = []
    typed: dict[str, pd.Series] = {}
    keys: dict[str, pd.Series] = {}
    blanked: dict[str, pd.Series] = {}
    for f in schema.fields:
        if f.name not in frame.columns:
            dtype = TYPED_DTYPES.get(f.type, object)
            typed[f.name] = pd.Series([None] * len(frame), index=frame.index, dtype=dtype)
            continue
        col = frame[f.name]
        missing_values = [str(v) for v in f.descriptor.get("missingValues", schema.missing_values)]
        res = validate_column(col, f, missing_values)
        errors.extend(res.errors)
        typed[f.name] = res.typed
        keys[f.name] = pd.Series(res.key, index=frame.index, dtype=object)
        blanked[f.name] = res.text.where(~res.unusable, "") if res.unusable.any() else res.text

    key_specs = [("primary-key", schema.primary_key, False)] if schema.primary_key else []
    key_specs += [("unique-keys", names, True) for names in schema.unique_keys]
    for rule, names, skip_any_null in key_specs:
        if names and all(n in keys for n in names):
            k = pd.DataFrame({n: keys[n] for n in names})
            t = pd.DataFrame({n: as_text(frame[n]) for n in names})
            errors.append(key_errors(k, t, names, rule, skip_any_null))

    check_frame = pd.DataFrame(blanked, index=frame.index)
    errors.append(run_custom_checks(check_frame, schema))

    errors = [e for e in errors if not e.empty]
    all_errors = pd.concat(errors, ignore_index=True) if errors else empty_errors()
    if not all_errors.empty:
        order = {n: i for i, n in enumerate(schema.field_names)}
        all_errors["_f"] = all_errors["field"].map(order).fillna(len(order))
        all_errors = (
            all_errors.sort_values(["row", "_f"], kind="stable").drop(columns="_f").reset_index(drop=True)
        )
    typed_frame = pd.DataFrame(typed, index=frame.index)
    invalid = pd.Index(pd.unique(all_errors["row"])) if not all_errors.empty else frame.index[:0]
    invalid = frame.index[frame.index.isin(invalid)]
    return Validation(errors=all_errors, typed=typed_frame, invalid_index=invalid)
