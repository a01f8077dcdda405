"""A batch's outcome: what one file gave, the one thing the stages after ingestion pass along.

The ingestion (``assets/harmonise/ingest.py``) writes it as a report of many sections; the fields here are the
ones the stages read — the batch's identity, its status and its row counts (conservation), the
structure problems and foreign authorities the checks look at, the report's path. Everything else
(what was read, normalisations, errors, rejected rows…) stays in ``details`` as written. ``to_json()``
gives back the report exactly as it was built, key order included: it is the batch report file
(``quality/reports/batch.py``) and the Dagster metadata's source.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal

Status = Literal["loaded", "refused", "failed"]


@dataclass
class BatchOutcome:
    batch_id: str
    producer: str
    dataset: str
    file_name: str
    status: Status
    message: str = ""
    rows_read: int = 0
    rows_accepted: int = 0
    rows_quarantined: int = 0
    sha256: str = ""
    # Structure problems ({column, rule, level, message…}): an ``error`` is a missing required column.
    structure: list[dict[str, Any]] = field(default_factory=list)
    # Values naming another authority than the producer (quality/identity.py), one dict per finding.
    identity: list[dict[str, Any]] = field(default_factory=list)
    refusal_reason: str | None = None
    schema_version_read: str | None = None
    report_path: str = ""
    # The rest of the report as the ingestion wrote it.
    details: dict[str, Any] = field(default_factory=dict)
    # The report's keys in the order they were written, so that ``to_json`` gives the same file.
    order: tuple[str, ...] = field(default=(), repr=False, compare=False)

    @classmethod
    def from_report(cls, report: Mapping[str, Any]) -> BatchOutcome:
        """The outcome of a report dict (``ingest_file``'s, or a report file read back)."""
        typed = {f.name for f in fields(cls)} - set(_UNTYPED)
        return cls(
            **{k: v for k, v in report.items() if k in typed},
            details={k: v for k, v in report.items() if k not in typed},
            order=tuple(report),
        )

    @property
    def conserved(self) -> bool:
        """Every row read is accepted or quarantined."""
        return self.rows_read == self.rows_accepted + self.rows_quarantined

    @property
    def missing_required_columns(self) -> list[str]:
        return [s["column"] for s in self.structure if s["level"] == "error"]

    def to_json(self) -> dict[str, Any]:
        """The report as built, keys in their order; a field the report lacked comes after them once
        it is given a value (the report's path, set when the page is written)."""
        values = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _UNTYPED}
        values |= self.details
        later = [k for k, v in values.items() if k not in self.order and v not in (None, "", [], {})]
        return {k: values[k] for k in [*(k for k in self.order if k in values), *later]}


_UNTYPED = ("details", "order")
