"""Words: booleans and enum values rewritten to the schema's spelling, compared by :func:`fold`."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from assets.harmonise.normalise.rewrites import changed_cells, map_unique
from quality.text import without_accents

# Table Schema defaults (frictionless) when a boolean field declares no trueValues/falseValues.
DEFAULT_TRUE = ["true", "True", "TRUE", "1"]
DEFAULT_FALSE = ["false", "False", "FALSE", "0"]
_TRUE_WORDS = {"oui", "vrai", "true", "yes", "o", "y", "1"}
_FALSE_WORDS = {"non", "faux", "false", "no", "n", "0"}


def fold(value: str) -> str:
    """Comparison key insensitive to case, accents, whitespace and apostrophe style."""
    text = re.sub(r"[’‘`´]", "'", without_accents(value))
    return re.sub(r"\s+", "", text).casefold()


def normalise_boolean(
    series: pd.Series, true_values: list[str] | None, false_values: list[str] | None
) -> tuple[pd.Series, int]:
    """Spellings of yes/no rewritten to the schema's first trueValue/falseValue (``OUI`` → ``oui``)."""
    trues = list(true_values or DEFAULT_TRUE)
    falses = list(false_values or DEFAULT_FALSE)
    true_keys = {fold(v) for v in trues} | _TRUE_WORDS
    false_keys = {fold(v) for v in falses} | _FALSE_WORDS
    ambiguous = true_keys & false_keys

    def canonical(value: str) -> str | None:
        key = fold(value)
        if not key or key in ambiguous:
            return None
        if key in true_keys:
            return trues[0]
        if key in false_keys:
            return falses[0]
        return None

    new = map_unique(series, canonical)
    return new, changed_cells(series, new)


def normalise_enum(series: pd.Series, enum: list[Any]) -> tuple[pd.Series, int]:
    """Case, accent and spacing variants rewritten to the enum's exact spelling."""
    keys: dict[str, str | None] = {}
    for value in enum:
        text = str(value)
        key = fold(text)
        keys[key] = None if key in keys and keys[key] != text else text

    def canonical(value: str) -> str | None:
        return keys.get(fold(value)) if value else None

    new = map_unique(series, canonical)
    return new, changed_cells(series, new)
