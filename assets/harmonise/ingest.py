"""One file through read → harmonise → validate, split into accepted and quarantined rows.

Pure: paths and frames in, frames and a report out. The Dagster asset decides where they go. The
conservation law is enforced here, where the split happens: every row read is either accepted or
quarantined with at least one reason a person can read.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from assets.harmonise.failure import stage
from assets.harmonise.frame import harmonise
from assets.harmonise.headers import HeaderMatch
from assets.harmonise.missing_columns import column_matches, missing_columns_refusal
from assets.read import RefusedFile, StagedTable, read_table
from quality.column_names import column_labels, in_agent_words, message_in_agent_words
from quality.identity import ProducerIdentity, check_identity
from quality.plausible import TEMPORAL_TYPES, implausible_rows
from quality.privacy import PrivacyRules, apply_privacy
from quality.schema import TableSchema
from quality.validate import check_structure, validate_frame

QUARANTINE_COLUMNS = ["source_row", "cells", "errors"]
# Structure issues whose message names schema fields (the others name the agent's own columns).
FIELD_NAMED_RULES = {"missing-required-column", "missing-column", "duplicate-column", "column-order"}


@dataclass
class Ingested:
    """What one file gave: rows for the warehouse, rows for quarantine, and the batch report."""

    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    report: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return self.report["status"]


def ingest_file(
    path: Path,
    schema: TableSchema,
    *,
    context: dict[str, Any],
    mapping: dict[str, str] | None = None,
    sheet: str | None = None,
    privacy: PrivacyRules | None = None,
    reader: Callable[[Path], StagedTable] | None = None,
    producer: ProducerIdentity | None = None,
) -> Ingested:
    """Read, harmonise and validate ``path``; ``context`` carries the batch's identity into the report
    (batch_id, producer, producer_name, dataset, dataset_title, file_name, sha256, received_at).
    ``reader`` replaces ``read_table`` for sources whose files need their own reading (a GTFS feed).
    ``producer`` (who dropped the file) makes the report flag values naming another authority."""
    report: dict[str, Any] = {
        **context,
        "schema": schema.name,
        "schema_version": schema.version,
        "status": "loaded",
        "message": "",
        "rows_read": 0,
        "rows_accepted": 0,
        "rows_quarantined": 0,
        "read": {},
        "normalisations": {},
        "structure": [],
        "warnings": [],
        "errors": [],
        "rejected_rows": [],
    }
    try:
        with stage("read"):
            staged = reader(path) if reader else read_table(path, sheet=sheet)
    except RefusedFile as exc:
        # The archive names files by hash; the producer knows the file by the name it sent.
        named = RefusedFile(context.get("file_name") or path.name, exc.reason, exc.detail)
        report.update(status="refused", message=str(named), refusal_reason=exc.reason)
        return Ingested(_empty_accepted(schema), _empty_quarantine(), report)

    with stage("read"):
        original, nul_cells = without_nul(staged.frame)
    report["read"] = {
        "format": staged.format,
        "encoding": staged.encoding,
        "delimiter": staged.delimiter,
        "header_line": staged.header_line,
        "sheet": staged.sheet,
        "blank_lines_dropped": staged.blank_lines_dropped,
    }
    display = context.get("file_name") or path.name
    report["warnings"].extend(w.replace(path.name, display) for w in staged.warnings)

    if nul_cells:
        report["warnings"].append(
            f"{nul_cells} cellule(s) contenaient des octets nuls (NUL), invisibles et refusés par la base : "
            "ils ont été supprimés."
        )
    with stage("harmonise"):
        harmonised = harmonise(original, schema, mapping)
    source_of = harmonised.header_match.fields  # source header -> schema field
    report["schema_version_read"] = harmonised.version_read
    report["normalisations"] = {k: int(v) for k, v in harmonised.normalisations.items() if v}
    if staged.geometries_repaired:
        report["normalisations"]["geometry-repaired"] = int(staged.geometries_repaired)
    report["warnings"].extend(harmonised.warnings)
    # The agent knows their columns by their own headers: every message names those first.
    source_of_field = {fld: src for src, fld in source_of.items()}
    labels = column_labels(
        schema.field_names, source_of_field, {f.name: f.title for f in schema.fields if f.title}
    )
    report["column_labels"] = labels
    report["structure"] = [
        {**issue, "message": message_in_agent_words(issue["message"], labels)}
        if issue["rule"] in FIELD_NAMED_RULES
        else issue
        for issue in (
            asdict(i) for i in check_structure(_fields_fed(harmonised.header_match, schema), schema)
        )
    ] + [
        {
            "level": "warning",
            "rule": "extra-column",
            "column": column,
            "message": f"La colonne « {column} » ne correspond à aucun champ du schéma {schema.name} : "
            "elle est conservée dans l'archive mais pas publiée.",
        }
        for column in harmonised.header_match.unmatched
    ]

    report["columns"] = column_matches(harmonised.header_match)
    report["identity"] = []
    if producer is not None:
        written = {fld: src for src, fld in source_of.items()}
        report["identity"] = check_identity(harmonised.frame, schema_id(schema), producer, written)
        report["warnings"].extend(f["message"] for f in report["identity"])
    missing = [s["column"] for s in report["structure"] if s["rule"] == "missing-required-column"]
    if missing:
        # Not this schema (or not this version of it): quarantining every row would tell the producer
        # nothing and replace their published rows by none. The file is refused whole, with the
        # columns that would make it acceptable.
        refusal = missing_columns_refusal(missing, original.columns, harmonised.header_match, schema)
        report.update(
            status="refused",
            message=refusal["message"].replace("{file}", str(display)),
            refusal_reason="missing-required-columns",
            refusal=refusal,
            rows_in_file=len(original),
        )
        return Ingested(_empty_accepted(schema), _empty_quarantine(), report)

    with stage("validate"):
        validation = validate_frame(harmonised.frame, schema)
    # Harmonisation finds errors no Table Schema constraint expresses (a point outside France).
    found = [e for e in (validation.errors, harmonised.errors) if e is not None and not e.empty]
    errors = pd.concat(found, ignore_index=True) if found else validation.errors
    errors = _with_original_values(errors, original, source_of)
    if not errors.empty:
        errors["message"] = in_agent_words(errors["message"], errors["field"], labels)
    invalid = original.index.isin(pd.Index(errors["row"].unique()))
    report["outside_territory"] = {
        f: [int(r) for r in rows] for f, rows in harmonised.outside_territory.items()
    }

    # Personal data is held back before the rows reach the warehouse, so it can never be published.
    with stage("privacy"):
        accepted, withheld, spoilt = _apply_privacy(
            harmonised.frame.loc[~invalid], validation.typed.loc[~invalid], schema, privacy or PrivacyRules()
        )
    report["privacy"] = {k: int(v) for k, v in withheld.items() if v}
    if not spoilt.empty:
        # Rows whose masked form breaks the schema: quarantined with the masked values (never the
        # personal ones), so the load of the file goes on and nothing is lost.
        masked_originals = _masked_cells(original, spoilt, source_of)
        original = original.copy()
        original.loc[masked_originals.index] = masked_originals
        errors = pd.concat([errors, spoilt], ignore_index=True)
        invalid = original.index.isin(pd.Index(errors["row"].unique()))
        accepted = accepted.loc[~accepted.index.isin(pd.Index(spoilt["row"].unique()))]
    implausible = implausible_rows(
        accepted, [f.name for f in schema.fields if f.type in TEMPORAL_TYPES], date.today()
    )
    report["warnings"].extend(_implausible_warnings(implausible, source_of))
    accepted = accepted.copy()
    accepted.insert(0, "source_row", accepted.index.astype("int64"))
    quarantined = _quarantine_rows(original.loc[invalid], errors)

    report["rows_read"] = len(original)
    report["rows_accepted"] = len(accepted)
    report["rows_quarantined"] = len(quarantined)
    if report["rows_read"] != report["rows_accepted"] + report["rows_quarantined"]:
        raise AssertionError(f"conservation broken for {path.name}: {report}")
    report["errors"] = errors.to_dict("records")
    report["rejected_rows"] = quarantined.to_dict("records")
    return Ingested(accepted.reset_index(drop=True), quarantined, report)


def _apply_privacy(
    text: pd.DataFrame, typed: pd.DataFrame, schema: TableSchema, rules: PrivacyRules
) -> tuple[pd.DataFrame, dict[str, int], pd.DataFrame]:
    """The gate over the valid rows' harmonised text, then those rows validated again.

    Masking works on text and may break a field's constraints (a marker longer than ``maxLength``,
    a required value withheld): the rows it changed are validated once more, so a mask can only
    send its own row to quarantine, never fail the load of the file. Returns the typed accepted rows,
    the counts, and the errors of the rows masking made invalid (their values masked).
    """
    masked, counts = apply_privacy(text, schema, rules)
    touched = [c for c in text.columns if not masked[c].equals(text[c])]
    changed = (masked[touched].astype(object) != text[touched].astype(object)).any(axis=1)
    if not changed.any():
        return typed, counts, pd.DataFrame(columns=["row", "field", "rule", "value", "message"])
    again = validate_frame(masked.loc[changed], schema)
    typed = typed.copy()
    typed.loc[again.typed.index, again.typed.columns] = again.typed
    spoilt = again.errors.copy()
    if not spoilt.empty:
        spoilt["message"] = (
            "Une donnée personnelle a été masquée dans cette ligne avant publication, et la valeur "
            "masquée ne respecte plus le schéma : " + spoilt["message"].astype(str)
        )
        spoilt["row"] = spoilt["row"].astype("int64")
    return typed, counts, spoilt


def _masked_cells(original: pd.DataFrame, spoilt: pd.DataFrame, source_of: dict[str, str]) -> pd.DataFrame:
    """The original cells of the rows masking made invalid, each masked field as masked."""
    rows = original.loc[pd.Index(spoilt["row"].unique())].copy()
    source = {name: header for header, name in source_of.items()}
    for name, group in spoilt.groupby("field"):
        header = source.get(name)
        if header in rows.columns:
            rows.loc[group["row"].to_numpy(), header] = group["value"].to_numpy()
    return rows


def _implausible_warnings(found: dict[str, list[int]], source_of: dict[str, str]) -> list[str]:
    """French warnings for dates the schema accepts but no one meant (see quality/plausible.py)."""
    source = {name: header for header, name in source_of.items()}
    warnings = []
    for name, rows in found.items():
        shown = ", ".join(str(r) for r in rows[:10]) + (" …" if len(rows) > 10 else "")
        warnings.append(
            f"La colonne « {source.get(name, name)} » contient {len(rows)} date(s) improbable(s) "
            f"(avant 1900 ou plus d'un an dans le futur), ligne(s) {shown} : elles sont publiées telles "
            "quelles mais ne comptent pas dans la période couverte annoncée au catalogue. "
            "Vérifiez-les (faute de frappe dans l'année ?)."
        )
    return warnings


def schema_id(schema: TableSchema) -> str:
    """The shipped schema's folder name (``scdl-subventions``), which names its declarations."""
    return Path(str(schema.path)).parent.name


def _fields_fed(match: HeaderMatch, schema: TableSchema) -> list[str]:
    """The schema fields the file feeds, in the file's order: matched columns first, then fields a
    crosswalk builds (two v1 dates joined into one period) and the point the platform builds itself
    (``TableSchema.with_point``), which no file is expected to carry."""
    fed = list(match.fields.values())
    built = set(schema.point_fields)
    return fed + [f for f in schema.field_names if f not in fed and (f not in match.missing or f in built)]


def _with_original_values(
    errors: pd.DataFrame, original: pd.DataFrame, source_of: dict[str, str]
) -> pd.DataFrame:
    """Errors carry the cell as the producer wrote it, not our normalised form, so they can find it."""
    errors = errors.copy()
    if errors.empty:
        return errors
    field_to_source = {fld: src for src, fld in source_of.items()}
    for fld, idx in errors.groupby("field").groups.items():
        source = field_to_source.get(fld)
        if source is not None and source in original.columns:
            rows = errors.loc[idx, "row"]
            errors.loc[idx, "value"] = original[source].reindex(rows).to_numpy()
    errors["row"] = errors["row"].astype("int64")
    return errors


def _quarantine_rows(rows: pd.DataFrame, errors: pd.DataFrame) -> pd.DataFrame:
    if rows.empty:
        return _empty_quarantine()
    # One pass over the error records: a groupby per row cost ~5 ms a row (100 s for a file of
    # 18,000 quarantined rows).
    by_row: dict[int, list[dict]] = {}
    for record in errors.to_dict("records"):
        by_row.setdefault(int(record.pop("row")), []).append(record)
    cells = rows.to_dict("records")
    return pd.DataFrame(
        {
            "source_row": rows.index.astype("int64"),
            "cells": cells,
            "errors": [by_row.get(int(r), []) for r in rows.index],
        }
    )


def _empty_accepted(schema: TableSchema) -> pd.DataFrame:
    return pd.DataFrame(columns=["source_row", *schema.field_names])


def _empty_quarantine() -> pd.DataFrame:
    return pd.DataFrame(columns=QUARANTINE_COLUMNS)


def without_nul(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """The frame with NUL characters removed from headers and cells, and how many cells had one.

    PostgreSQL refuses NUL in text (and ``\\u0000`` in JSON), so a NUL that a spreadsheet or a
    custom reader let through would fail the whole COPY; it carries no meaning and is dropped."""
    text_columns = [c for c in frame.columns if frame[c].dtype == object or frame[c].dtype == "str"]
    hits = {c: frame[c].astype("str").str.contains("\x00", regex=False).fillna(False) for c in text_columns}
    cells = int(sum(int(h.sum()) for h in hits.values()))
    renamed = {c: c.replace("\x00", "") for c in frame.columns if isinstance(c, str) and "\x00" in c}
    if not cells and not renamed:
        return frame, 0
    frame = frame.copy()
    for column, hit in hits.items():
        if hit.any():
            frame[column] = (
                frame[column]
                .astype(object)
                .where(~hit.to_numpy(bool), frame[column].astype("str").str.replace("\x00", "", regex=False))
            )
    return frame.rename(columns=renamed), cells
