"""SIRET and SIREN numbers: well formed and with a right check digit, as python-stdnum says."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from quality.schema import TableSchema
from quality.validate.checks.registry import register
from quality.validate.checks.verdicts import single_column


def _digits(u: pd.Series, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(well-formed mask, digit matrix) after python-stdnum's compaction (spaces and dots dropped)."""
    compact = u.str.replace(r"[ .]", "", regex=True).str.strip()
    ok = compact.str.fullmatch(rf"[0-9]{{{width}}}").fillna(False).to_numpy(bool)
    matrix = np.zeros((len(u), width), dtype=np.int64)
    if ok.any():
        raw = "".join(compact[ok].tolist()).encode("ascii")
        matrix[ok] = np.frombuffer(raw, dtype=np.uint8).reshape(-1, width).astype(np.int64) - 48
    return ok, matrix


def _luhn(matrix: np.ndarray) -> np.ndarray:
    width = matrix.shape[1]
    doubled = (width - 1 - np.arange(width)) % 2 == 1  # every second digit from the right
    d = matrix.copy()
    d[:, doubled] *= 2
    d[d > 9] -= 9
    return d.sum(axis=1) % 10 == 0


def siret_valid(u: pd.Series) -> np.ndarray:
    ok, m = _digits(u, 14)
    # La Poste's establishments share SIREN 356000000 and use "sum of digits % 5" (stdnum), head office aside.
    la_poste = (m[:, :9] == np.array([3, 5, 6, 0, 0, 0, 0, 0, 0])).all(axis=1)
    head_office = (u.str.replace(r"[ .]", "", regex=True).str.strip() == "35600000000048").to_numpy(bool)
    poste_rule = la_poste & ~head_office
    valid = np.where(poste_rule, m.sum(axis=1) % 5 == 0, _luhn(m) & _luhn(m[:, :9]))
    return ok & valid


def siren_valid(u: pd.Series) -> np.ndarray:
    ok, m = _digits(u, 9)
    return ok & _luhn(m)


@register("french-siret-value")
def french_siret_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    return single_column(
        frame,
        params["column"],
        "french-siret-value",
        lambda u: ~siret_valid(u),
        "n'est pas un numéro SIRET valide (14 chiffres dont le dernier est une clé de contrôle).",
    )


@register("french-siren-value")
def french_siren_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    return single_column(
        frame,
        params["column"],
        "french-siren-value",
        lambda u: ~siren_valid(u),
        "n'est pas un numéro SIREN valide (9 chiffres dont le dernier est une clé de contrôle).",
    )
