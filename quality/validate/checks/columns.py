"""Checks across columns of one row: filled together, compared, summed, at least one filled."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from quality.schema import TableSchema
from quality.validate.checks.registry import register
from quality.validate.checks.verdicts import filled, row_errors
from quality.validate.messages import empty_errors
from quality.validate.types import parse_column

log = logging.getLogger(__name__)


@register("cohesive-columns-value")
def cohesive_columns_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    columns = [c for c in [params["column"], *params.get("othercolumns", [])] if c in frame.columns]
    if len(columns) < 2:
        return empty_errors()
    filled = pd.DataFrame({c: frame[c] != "" for c in columns})
    count = filled.sum(axis=1).to_numpy()
    bad = (count > 0) & (count < len(columns))
    values = frame[columns].agg(" | ".join, axis=1)
    text = f"les colonnes {', '.join(columns)} doivent toutes comporter une valeur ou toutes être vides."
    return row_errors(frame, bad, params["column"], "cohesive-columns-value", values, text)


_OPS = {">": np.greater, ">=": np.greater_equal, "==": np.equal, "<=": np.less_equal, "<": np.less}
_OP_LABELS = {
    ">": "supérieure",
    ">=": "supérieure ou égale",
    "==": "égale",
    "<=": "inférieure ou égale",
    "<": "inférieure",
}


def _comparable(frame: pd.DataFrame, schema: TableSchema, column: str) -> tuple[pd.Series, pd.Series]:
    """(numeric value or NaN, text key) per cell, from the field's type as frictionless would type it."""
    field = schema.field(column)
    text = frame[column]
    numeric = pd.Series(np.nan, index=frame.index)
    key = text.copy()
    filled = text != ""
    if filled.any() and field.type not in ("string", "any"):
        parsed = parse_column(text[filled], field)
        key[filled] = parsed.key.astype(str).to_numpy(object)
        if field.type in ("number", "integer", "year"):
            numeric[filled] = pd.to_numeric(parsed.key, errors="coerce").to_numpy(float)
    elif filled.any():
        numeric[filled] = pd.to_numeric(text[filled], errors="coerce").to_numpy(float)
    return numeric, key


@register("compare-columns-value")
def compare_columns_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    c1, c2, op = params["column"], params["column2"], params.get("op", "")
    if c1 not in frame.columns or c2 not in frame.columns or op not in _OPS:
        if op not in _OPS:
            log.warning("compare-columns-value : opérateur %r non géré", op)
        return empty_errors()
    both = ((frame[c1] != "") & (frame[c2] != "")).to_numpy(bool)
    n1, k1 = _comparable(frame, schema, c1)
    n2, k2 = _comparable(frame, schema, c2)
    numeric = both & n1.notna().to_numpy(bool) & n2.notna().to_numpy(bool)
    t1, t2 = schema.field(c1).type, schema.field(c2).type
    typed_numeric = {"number", "integer", "year"}
    # A typed number against a typed date (say) cannot be compared: Validata says so.
    incomparable = (
        both
        & ~numeric
        & (((t1 in typed_numeric) ^ (t2 in typed_numeric)) & (t1 != "string") & (t2 != "string"))
    )
    with np.errstate(invalid="ignore"):
        num_ok = _OPS[op](n1.to_numpy(float), n2.to_numpy(float))
    str_ok = _OPS[op](k1.to_numpy(object).astype(str), k2.to_numpy(object).astype(str))
    good = np.where(numeric, num_ok, str_ok)
    bad = both & ~incomparable & ~good
    v1, v2 = frame[c1].to_numpy(object), frame[c2].to_numpy(object)
    text = np.where(
        incomparable,
        "la valeur « " + v1 + f" » n'est pas comparable avec celle de la colonne « {c2} » (« " + v2 + " »).",
        "la valeur « "
        + v1
        + f" » devrait être {_OP_LABELS[op]} à celle de la colonne « {c2} » (« "
        + v2
        + " »).",
    )
    return row_errors(frame, bad | incomparable, c1, "compare-columns-value", frame[c1], text)


@register("sum-columns-value")
def sum_columns_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    column, columns = params["column"], list(params.get("columns", []))
    if column not in frame.columns or any(c not in frame.columns for c in columns) or len(columns) < 2:
        return empty_errors()
    parts = [column, *columns]
    ints = pd.DataFrame({c: frame[c].str.fullmatch(r"\d+").fillna(False) for c in parts})
    checkable = ints.all(axis=1).to_numpy(bool)
    values = pd.DataFrame({c: pd.to_numeric(frame[c].where(ints[c], "0")) for c in parts})
    total = values[columns].sum(axis=1).to_numpy()
    bad = checkable & (total != values[column].to_numpy())
    text = (
        f"la somme des colonnes {', '.join(columns)} vaut "
        + pd.Series(total).astype(str).to_numpy(object)
        + f", différente de la valeur de « {column} » ("
        + frame[column].to_numpy(object)
        + ")."
    )
    return row_errors(frame, bad, column, "sum-columns-value", frame[column], text)


@register("one-of-required")
def one_of_required(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    c1, c2 = params["column1"], params["column2"]
    bad = ~(filled(frame, c1) | filled(frame, c2)).to_numpy(bool)
    values = pd.Series(np.full(len(frame), "", dtype=object), index=frame.index, dtype=object, copy=False)
    text = f"au moins une des colonnes « {c1} » ou « {c2} » doit être renseignée."
    return row_errors(frame, bad, c1, "one-of-required", values, text)
