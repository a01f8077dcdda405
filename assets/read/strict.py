"""Validation of a file as it is, no normalisation: the verdict validata.fr would give.

Columns are matched by name (frictionless ``Detector(schema_sync=True)``, as Validata): structure
first (missing required column = error; missing optional, unknown or out-of-order column =
warning), then the cells of the columns that are there, with the same rules as
:func:`quality.validate.validate_frame`. Rows are numbered as in a spreadsheet (header = line 1).

Intentional differences from frictionless 5 (tests/test_parity_frictionless.py checks the rest):

- ``uniqueKeys`` (Table Schema v2) is enforced, rule ``unique-keys``; frictionless 5 ignores it.
  A key with an empty part is not compared (v2's default ``nullKeys``).
- A missing required column is a structure *error* that makes the file invalid; frictionless
  reports ``missing-label`` only in that case too, but Validata also lists missing optional
  columns, which we give as warnings.
- Numbers are read as float64 (frictionless: ``Decimal``): ``minimum``/``maximum`` on numbers with
  more than 15 significant digits may round differently. Digits are ASCII 0-9 (Python's ``int`` and
  ``Decimal`` also accept other Unicode digits, which no French file uses).
- ``datetime``/``time`` in the default format accept the ISO 8601 shapes a spreadsheet writes
  (``AAAA-MM-JJTHH:MM:SS[.f][Z|±HH:MM]``); dateutil's ``isoparse`` also accepts rarer ISO week and
  compact forms, which we reject.
- Empty lines and the reading of the file (encoding, delimiter, header line, sheets) are the
  reader's job (``assets.read.read_table``): a file it refuses raises ``RefusedFile`` here too,
  where frictionless would report ``blank-row``/``extra-cell``/``missing-cell`` row by row.
- Custom checks (SIRET, GPS, …) run like Validata's; frictionless alone does not know them, so
  the parity test compares only the standard rules.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from assets.read.dispatch import read_table
from quality.schema import TableSchema
from quality.validate import StructureIssue, Validation, check_structure, validate_frame

# The rules frictionless knows too (Table Schema constraints): the ones parity with it is measured on.
# Custom checks (SIRET, GPS…) and uniqueKeys are Validata's or ours alone.
STANDARD_RULES = frozenset(
    {
        "type",
        "format",
        "required",
        "pattern",
        "enum",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "unique",
        "primary-key",
    }
)


@dataclass(frozen=True)
class StrictReport:
    path: Path
    schema: TableSchema
    structure: list[StructureIssue]
    validation: Validation
    rows: int
    headers: list[str] = field(default_factory=list)

    @property
    def errors(self) -> pd.DataFrame:
        return self.validation.errors

    @property
    def valid(self) -> bool:
        return self.validation.errors.empty and not any(i.level == "error" for i in self.structure)

    def to_records(self) -> list[dict[str, Any]]:
        """Structure errors (``row`` None), then cell errors, as ``{row, field, rule, value, message}``.

        ``row`` is the source row number; structure warnings stay in :attr:`structure`.
        """
        records: list[dict[str, Any]] = [
            {"row": None, "field": i.column, "rule": i.rule, "value": None, "message": i.message}
            for i in self.structure
            if i.level == "error"
        ]
        for r in self.validation.errors.to_dict("records"):
            r["row"] = int(r["row"])
            records.append(r)
        return records


def validate_file(path: str | Path, schema: TableSchema) -> StrictReport:
    """The file as it is, against ``schema``: structure issues, then cell errors."""
    path = Path(path)
    frame = read_table(path).frame  # raises RefusedFile for what is not a table
    headers = [str(c) for c in frame.columns]
    structure = check_structure(headers, schema)
    present = [f.name for f in schema.fields if f.name in frame.columns]
    validation = validate_frame(frame[present], schema)
    return StrictReport(
        path=path, schema=schema, structure=structure, validation=validation, rows=len(frame), headers=headers
    )
