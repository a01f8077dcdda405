"""The custom checks by Validata name, and running the ones a schema declares.

Each check is registered under its Validata name(s) and called as ``check(frame, schema, params)``,
returning an errors frame ``[row, field, rule, value, message]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from quality.schema import TableSchema
from quality.validate.checks.verdicts import Encoded, encoded_columns
from quality.validate.messages import empty_errors

log = logging.getLogger(__name__)

CheckFn = Callable[[pd.DataFrame, TableSchema, dict[str, Any]], pd.DataFrame]
CHECKS: dict[str, CheckFn] = {}


def register(*names: str) -> Callable[[CheckFn], CheckFn]:
    def wrap(fn: CheckFn) -> CheckFn:
        for name in names:
            CHECKS[name] = fn
        return fn

    return wrap


def run_custom_checks(
    frame: pd.DataFrame, schema: TableSchema, encoded: Mapping[str, Encoded] | None = None
) -> pd.DataFrame:
    """Every custom check the schema declares; an unknown check name is logged and skipped.

    ``encoded``: columns of ``frame`` the validator has already factorised, so that the single-column
    checks judge their distinct values without factorising the column again.
    """
    out = []
    with encoded_columns(encoded):
        for spec in schema.custom_checks:
            fn = CHECKS.get(spec.get("name", ""))
            if fn is None:
                name = spec.get("name")
                log.warning("schéma %s : contrôle personnalisé inconnu %r ignoré", schema.name, name)
                continue
            out.append(fn(frame, schema, dict(spec.get("params") or {})))
    out = [o for o in out if not o.empty]
    return pd.concat(out, ignore_index=True) if out else empty_errors()
