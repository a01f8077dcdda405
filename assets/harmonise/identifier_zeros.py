"""Leading zeros a spreadsheet dropped from an identifier, restored only when the identifier proves it.

A SIRET ``01234567800012`` saved as a number comes back as the 13 digits ``1234567800012``. Writing
the zero back is safe only when the padded value passes the identifier's own checksum (SIRET: Luhn on
the SIREN and on the whole, with La Poste's exception; SIREN: Luhn): a value one digit short for any
other reason (a digit forgotten while typing) almost never does, and is left for the validator to
show. The cell must be digits only; a cell that says more (letters, spaces) was not a number.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from quality.validate.checks.siret import siren_valid, siret_valid

# check name → (length, validity test); the checks named as in the schemas' custom checks.
CHECKED_IDENTIFIERS: dict[str, tuple[int, Callable[[pd.Series], np.ndarray]]] = {
    "french-siret-value": (14, siret_valid),
    "french-siren-value": (9, siren_valid),
}
# No SIRET or SIREN starts with three zeros; more missing digits is a truncated value, not zeros.
MAX_ZEROS = 2


def checked_identifiers(schema: object) -> dict[str, str]:
    """field → check name, for the fields the schema checks as SIRET or SIREN."""
    found: dict[str, str] = {}
    for check in getattr(schema, "custom_checks", None) or []:
        column = (check.get("params") or {}).get("column")
        if column and check.get("name") in CHECKED_IDENTIFIERS:
            found[column] = check["name"]
    return found


def restore_zeros(series: pd.Series, check: str) -> tuple[pd.Series, int]:
    """``series`` with the zeros restored where the padded value passes ``check``; cells changed."""
    length, valid = CHECKED_IDENTIFIERS[check]
    text = series.astype(str)
    size = text.str.len()
    digits = text.str.fullmatch(r"\d+").fillna(False).astype(bool)
    short = digits & (size < length) & (size >= length - MAX_ZEROS)
    if not short.any():
        return series, 0
    padded = text[short].str.zfill(length)
    ok = pd.Series(valid(padded), index=padded.index)
    if not ok.any():
        return series, 0
    restored = series.astype(object).copy()
    restored[ok[ok].index] = padded[ok]
    return restored, int(ok.sum())
