"""Periods written as years: « AAAA/AAAA » (or a lone year when the schema allows it)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quality.schema import TableSchema
from quality.validate.checks.registry import register
from quality.validate.checks.verdicts import single_column


@register("year-interval-value")
def year_interval_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    allow_year = str(params.get("allow-year-only", "")).lower() in ("true", "yes")

    def verdict(u: pd.Series) -> np.ndarray:
        parts = u.str.extract(r"^(\d{4})/(\d{4})$")
        interval = parts[0].notna().to_numpy(bool)
        y1 = pd.to_numeric(parts[0], errors="coerce").to_numpy(float)
        y2 = pd.to_numeric(parts[1], errors="coerce").to_numpy(float)
        year_only = u.str.fullmatch(r"\d{4}").fillna(False).to_numpy(bool)
        wrong_format = (
            "n'a pas le format attendu : une année (AAAA) ou une période (AAAA/AAAA)."
            if allow_year
            else "n'a pas le format attendu pour une période (AAAA/AAAA)."
        )
        out = np.full(len(u), "", dtype=object)
        out[~interval & ~(allow_year & year_only)] = wrong_format
        out[interval & (y1 == y2)] = "est une période invalide : les deux années doivent être différentes."
        out[interval & (y1 > y2)] = (
            "est une période invalide : la deuxième année doit être postérieure à la première."
        )
        return out

    return single_column(frame, params["column"], "year-interval-value", verdict, None)
