"""A column's cells against its field: type, constraints, uniqueness; then the schema's composite keys.

Each column is factorised and its *distinct* values are parsed once (:mod:`quality.validate.types`),
then the verdicts are spread back to the cells: a million rows cost a few distinct-value parses, never
a Python call per cell.
"""

from __future__ import annotations

import json
import logging
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from quality.patterns import pattern_matches
from quality.schema import Field
from quality.validate.cells import as_text, factorize_text
from quality.validate.messages import ELEMENT_RULES_FR, empty_errors, error_frame, messages, rule_suffix
from quality.validate.types import TYPED_DTYPES, Parsed, blank, parse_column

log = logging.getLogger(__name__)

# Constraints frictionless applies per type (others are ignored there, so here too).
SUPPORTED = {
    "string": {"required", "minLength", "maxLength", "pattern", "enum"},
    "array": {"required", "minLength", "maxLength", "enum"},
    "object": {"required", "minLength", "maxLength", "enum"},
    "boolean": {"required", "enum"},
    "duration": {"required", "enum"},
    "geojson": {"required", "enum"},
    "geopoint": {"required", "enum"},
    "any": {"required", "enum"},
}
_ORDERED = {"required", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "enum"}
for _t in ("number", "integer", "date", "time", "datetime", "year", "yearmonth"):
    SUPPORTED[_t] = _ORDERED


def _constraint_key(value: Any, f: Field) -> Any:
    """A constraint value (minimum, enum item…) read like a cell of ``f``."""
    if (
        f.type in ("number", "integer", "year")
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
    ):
        return float(value)
    if f.type == "boolean" and isinstance(value, bool):
        return value
    if isinstance(value, (list, dict)):
        value = json.dumps(value)
    parsed = parse_column(pd.Series([str(value)]), f)
    return parsed.key.iloc[0] if parsed.ok[0] else None


_BOUND_OPS = {
    "minimum": operator.ge,
    "maximum": operator.le,
    "exclusiveMinimum": operator.gt,
    "exclusiveMaximum": operator.lt,
}


def _unique_failures(u: pd.Series, p: Parsed, f: Field) -> dict[str, np.ndarray]:
    """Per distinct value: constraints broken (only on values of the right type)."""
    supported = SUPPORTED.get(f.type, {"required", "enum"})
    fails: dict[str, np.ndarray] = {}
    ok = p.ok
    for rule, limit in f.constraints.items():
        if rule not in supported or rule in ("required", "unique") or limit is None:
            continue
        if rule == "pattern":
            bad = ~pattern_matches(u, str(limit))
        elif rule in ("minLength", "maxLength"):
            length = u.str.len() if f.type == "string" else pd.to_numeric(p.length, errors="coerce")
            length = length.to_numpy(float)
            bad = length < limit if rule == "minLength" else length > limit
        elif rule == "enum":
            allowed = [_constraint_key(v, f) for v in limit]
            bad = ~p.key.isin([a for a in allowed if a is not None]).to_numpy(bool)
        else:
            bound = _constraint_key(limit, f)
            if bound is None:
                log.warning("contrainte %s=%r illisible pour le champ %s", rule, limit, f.name)
                continue
            key = p.key
            if f.type in ("number", "integer", "year"):
                key = pd.to_numeric(key, errors="coerce")
            valid_key = key.notna().to_numpy(bool)
            with np.errstate(invalid="ignore"):
                cmp = _BOUND_OPS[rule]
                good = np.zeros(len(u), bool)
                good[valid_key] = cmp(key[valid_key], bound).to_numpy(bool)
            bad = ~good
        fails[rule] = bad & ok
    for note, mask in (p.notes or {}).items():
        rule = "type" if note == "type" else note
        fails[rule] = fails.get(rule, np.zeros(len(u), bool)) | mask
    return fails


@dataclass
class ColumnResult:
    """One column's verdict: its errors, its typed values, and what the keys and custom checks read."""

    errors: list[pd.DataFrame]
    typed: pd.Series
    key: np.ndarray  # comparable value per cell (None when missing or of the wrong type)
    text: pd.Series
    unusable: np.ndarray  # missing or of the wrong type: blank for the custom checks


def _cell_errors(
    rows: pd.Series, text: pd.Series, mask: np.ndarray, field: str, rule: str, suffix
) -> pd.DataFrame:
    r, v = rows[mask], text[mask].astype(str)
    return error_frame(
        r.to_numpy(), field, rule, v.to_numpy(object), messages(field, r, v, suffix).to_numpy()
    )


def validate_column(col: pd.Series, f: Field, missing_values: list[str]) -> ColumnResult:
    """The cells of one column against field ``f``: required, type, constraints, ``unique``."""
    n = len(col)
    index = col.index
    rows = pd.Series(index.to_numpy(), index=index)
    text = as_text(col)
    # Factorise once: every verdict is taken on the distinct values, then spread with the codes.
    all_codes, u_all = factorize_text(text)
    u_all = u_all.astype("str")
    missing_u = u_all.isin(missing_values).to_numpy(bool)
    missing = missing_u[all_codes]
    errors: list[pd.DataFrame] = []
    if f.required and missing.any():
        errors.append(
            _cell_errors(
                rows, text.where(~missing, ""), missing, f.name, "required", rule_suffix(f, "required")
            )
        )

    present_pos = np.flatnonzero(~missing)
    kept = np.flatnonzero(~missing_u)
    remap = np.full(len(u_all), -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    codes = remap[all_codes[present_pos]]
    u = u_all.iloc[kept].reset_index(drop=True)
    p = parse_column(u, f) if len(u) else Parsed(np.zeros(0, bool), blank(0), blank(0))

    type_rule = "format" if f.type == "string" and f.format else "type"
    cell_ok = p.ok[codes]
    type_bad = np.zeros(n, bool)
    type_bad[present_pos] = ~cell_ok
    if type_bad.any():
        errors.append(_cell_errors(rows, text, type_bad, f.name, type_rule, rule_suffix(f, type_rule)))

    for rule, bad_u in _unique_failures(u, p, f).items():
        cell_bad = np.zeros(n, bool)
        cell_bad[present_pos] = bad_u[codes]
        if cell_bad.any():
            suffix = rule_suffix(f, rule)
            if p.notes and rule in p.notes:
                broken = ELEMENT_RULES_FR.get(rule, "une règle du schéma")
                suffix = f"contient un élément de la liste qui ne respecte pas {broken}."
            errors.append(_cell_errors(rows, text, cell_bad, f.name, rule, suffix))

    good_pos = present_pos[cell_ok]
    good_codes = codes[cell_ok]
    dtype = TYPED_DTYPES.get(f.type, object)
    if dtype is object:
        typed_values = np.full(n, None, dtype=object)
        typed_values[good_pos] = np.asarray(p.typed.to_numpy(object), dtype=object)[good_codes]
        typed = pd.Series(typed_values, index=index, dtype=object)
    else:
        typed = pd.Series(pd.array([None] * n, dtype=dtype), index=index)
        if len(good_pos):
            typed.iloc[good_pos] = p.typed.iloc[good_codes].to_numpy()
    key = np.full(n, None, dtype=object)
    key[good_pos] = np.asarray(p.key.to_numpy(object), dtype=object)[good_codes]

    if f.constraints.get("unique") and len(good_pos):
        k = pd.Series(key[good_pos])
        dup = k.duplicated(keep="first").to_numpy(bool)
        if dup.any():
            good_rows = rows.iloc[good_pos]
            first_row = (
                pd.Series(good_rows.to_numpy(), index=k.to_numpy()).groupby(level=0, sort=False).first()
            )
            firsts = first_row.reindex(k[dup].to_numpy()).astype(str).to_numpy(object)
            suffix = rule_suffix(f, "unique") + " (déjà présente ligne " + firsts + ")."
            mask = np.zeros(n, bool)
            mask[good_pos[dup]] = True
            errors.append(_cell_errors(rows, text, mask, f.name, "unique", suffix))
    return ColumnResult(errors, typed, key, text, missing | type_bad)


def key_errors(
    keys: pd.DataFrame, texts: pd.DataFrame, names: list[str], rule: str, skip_any_null: bool
) -> pd.DataFrame:
    """Duplicate (or, for a primary key, empty) composite keys."""
    label = ", ".join(names)
    rows = pd.Series(keys.index.to_numpy(), index=keys.index)
    null = keys.isna()
    all_null = null.all(axis=1).to_numpy(bool)
    skip = null.any(axis=1).to_numpy(bool) if skip_any_null else all_null
    frames = []
    shown = texts.astype(str).agg(" | ".join, axis=1) if len(names) > 1 else texts.iloc[:, 0].astype(str)
    if rule == "primary-key" and all_null.any():
        r = rows[all_null]
        msg = "Ligne " + r.astype(str) + f" : la clé primaire ({label}) est vide."
        frames.append(error_frame(r.to_numpy(), label, rule, shown[all_null].to_numpy(), msg.to_numpy()))
    considered = keys[~skip].astype(str)
    joined = considered.agg("\x1f".join, axis=1) if len(names) > 1 else considered.iloc[:, 0]
    dup = joined.duplicated(keep="first").to_numpy(bool)
    if dup.any():
        first = pd.Series(rows[~skip].to_numpy(), index=joined.to_numpy()).groupby(level=0).first()
        r = rows[~skip][dup]
        firsts = first.reindex(joined[dup].to_numpy()).astype(str).to_numpy(object)
        what = "la clé primaire" if rule == "primary-key" else "la clé d'unicité"
        msg = (
            "Ligne "
            + r.astype(str).to_numpy(object)
            + f" : {what} ({label}) « "
            + shown[~skip][dup].to_numpy(object)
            + " » est en double (déjà présente ligne "
            + firsts
            + ")."
        )
        frames.append(error_frame(r.to_numpy(), label, rule, shown[~skip][dup].to_numpy(), msg))
    return pd.concat(frames, ignore_index=True) if frames else empty_errors()
