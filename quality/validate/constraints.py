"""A column's cells against its field: type, constraints, uniqueness; then the schema's composite keys.

Each column is factorised and its *distinct* values are parsed once (:mod:`quality.validate.types`),
then the verdicts are spread back to the cells: a million rows cost a few distinct-value parses, never
a Python call per cell.
"""

from __future__ import annotations

import json
import logging
import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from quality.patterns import pattern_matches
from quality.schema import Field
from quality.validate.cells import arrow_text, as_text, factorize_text
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
    typed: Callable[[], pd.Series]  # built on demand: a strict validation never reads it
    key: np.ndarray | None  # comparable value per cell (None when missing or wrong type); only when asked
    checked: pd.Series  # the text with missing and wrong-type cells blanked: what custom checks read
    codes: np.ndarray | None  # per cell, its position in ``uniques`` (None: judged cell by cell)
    uniques: pd.Series | None  # the distinct values of ``checked`` (may repeat ``""``)


def _cell_errors(rows: np.ndarray, values: np.ndarray, field: str, rule: str, suffix: Any) -> pd.DataFrame:
    r, v = pd.Series(rows), pd.Series(values, dtype=object)
    return error_frame(rows, field, rule, values, messages(field, r, v, suffix).to_numpy())


def _spread(per_unique: np.ndarray, kept: np.ndarray, size: int, fill: Any = False) -> np.ndarray:
    """Values known on the kept (non-missing) distinct values, laid over all ``size`` of them."""
    out = np.full(size, fill, dtype=per_unique.dtype if fill is False else object)
    out[kept] = per_unique
    return out


def validate_column(
    col: pd.Series, f: Field, missing_values: list[str], want_key: bool = False
) -> ColumnResult:
    """The cells of one column against field ``f``: required, type, constraints, ``unique``.

    Every verdict is taken on the distinct values, then the cells are reached through the codes only
    where something is wrong (≈1-2 % of them) or to build what the warehouse gets: one fan-out per
    output, no per-cell mask turned into a pandas object. ``want_key``: the comparable value of each
    cell is kept (keys). Some columns are better judged cell by cell: :mod:`quality.validate.cellwise`.
    """
    index = col.index
    text = as_text(col)
    codes, u_all = factorize_text(text)
    u_all = u_all.astype("str")
    k = len(u_all)
    missing_u = u_all.isin(missing_values).to_numpy(bool)
    kept = np.flatnonzero(~missing_u)
    u = u_all if len(kept) == k else u_all.iloc[kept].reset_index(drop=True)
    p = parse_column(u, f) if len(u) else Parsed(np.zeros(0, bool), blank(0), blank(0))
    ok_u = _spread(np.asarray(p.ok, bool), kept, k)
    type_bad_u = ~missing_u & ~ok_u

    # (rule, suffix, failing distinct values) in the order the errors were always listed.
    type_rule = "format" if f.type == "string" and f.format else "type"
    verdicts: list[tuple[str, str, np.ndarray]] = []
    if f.required and missing_u.any():
        verdicts.append(("required", rule_suffix(f, "required"), missing_u))
    verdicts.append((type_rule, rule_suffix(f, type_rule), type_bad_u))
    for rule, bad in _unique_failures(u, p, f).items():
        suffix = rule_suffix(f, rule)
        if p.notes and rule in p.notes:
            broken = ELEMENT_RULES_FR.get(rule, "une règle du schéma")
            suffix = f"contient un élément de la liste qui ne respecte pas {broken}."
        verdicts.append((rule, suffix, _spread(bad, kept, k)))
    flagged_u = np.zeros(k, bool)
    for _, _, bad_u in verdicts:
        flagged_u |= bad_u
    errors: list[pd.DataFrame] = []
    if flagged_u.any():
        pos = np.flatnonzero(flagged_u[codes])
        pos_codes = codes[pos]
        labels = index.to_numpy()[pos]
        for rule, suffix, bad_u in verdicts:
            hit = bad_u[pos_codes]
            if hit.any():
                # a missing value is shown empty ("NA" is a way of writing nothing)
                shown = (
                    np.full(int(hit.sum()), "", object)
                    if rule == "required"
                    else u_all.iloc[pos_codes[hit]].to_numpy(object)
                )
                errors.append(_cell_errors(labels[hit], shown, f.name, rule, suffix))

    good_u = np.flatnonzero(ok_u)  # distinct values of the right type
    part = np.flatnonzero(np.asarray(p.ok, bool))  # the same, as positions in the parse
    dtype = TYPED_DTYPES.get(f.type, object)
    if dtype is object:
        typed_u = np.full(k, None, dtype=object)
        typed_u[good_u] = np.asarray(p.typed.to_numpy(object), dtype=object)[part]

        def typed() -> pd.Series:
            return pd.Series(typed_u[codes], index=index, dtype=object, copy=False)
    else:
        at = np.full(k, -1, dtype=np.intp)
        at[good_u] = part
        typed_p = pd.Series(p.typed).array

        def typed() -> pd.Series:
            values = typed_p.take(at[codes], allow_fill=True)
            return pd.Series(values, index=index, copy=False).astype(dtype)

    key = None
    if want_key or f.constraints.get("unique"):
        key_u = np.full(k, None, dtype=object)
        key_u[good_u] = np.asarray(p.key.to_numpy(object), dtype=object)[part]
        key = key_u[codes]
    if f.constraints.get("unique") and len(good_u):
        errors.extend(_unique_errors(key, ok_u[codes], index, u_all, codes, f))

    # Custom checks say nothing of a missing or wrong-type cell: they read it as "".
    blank_u = type_bad_u | (missing_u & (u_all != "").to_numpy(bool))
    if blank_u.any():
        u_checked = u_all.where(~blank_u, "")
        checked = _blanked(text, u_checked, codes)
    else:
        u_checked, checked = u_all, text
    return ColumnResult(errors, typed, key, checked, codes, u_checked)


def _blanked(text: pd.Series, u_checked: pd.Series, codes: np.ndarray) -> pd.Series:
    """``text`` rebuilt from its distinct values with some of them blanked (Arrow's take when Arrow)."""
    if arrow_text(text):
        taken = pc.take(pa.array(u_checked.array), pa.array(codes))
        return pd.Series(pd.array(taken, dtype=text.dtype), index=text.index, copy=False)
    return pd.Series(u_checked.to_numpy(object)[codes], index=text.index, dtype=text.dtype)


def _unique_errors(
    key: np.ndarray, good: np.ndarray, index: pd.Index, u_all: pd.Series, codes: np.ndarray, f: Field
) -> list[pd.DataFrame]:
    good_pos = np.flatnonzero(good)
    k = pd.Series(key[good_pos])
    dup = k.duplicated(keep="first").to_numpy(bool)
    if not dup.any():
        return []
    labels = index.to_numpy()
    first_row = pd.Series(labels[good_pos], index=k.to_numpy()).groupby(level=0, sort=False).first()
    firsts = first_row.reindex(k[dup].to_numpy()).astype(str).to_numpy(object)
    suffix = rule_suffix(f, "unique") + " (déjà présente ligne " + firsts + ")."
    pos = good_pos[dup]
    return [_cell_errors(labels[pos], u_all.iloc[codes[pos]].to_numpy(object), f.name, "unique", suffix)]


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
