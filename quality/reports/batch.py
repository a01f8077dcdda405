"""The batch report: what a producer reads after dropping one file, and the rows to fix.

Three files per batch under ``reports_dir/PRODUCER/DATASET/``:

- ``BATCH.json``: the report dict of ``assets/harmonise/ingest.py`` as is (ARCHITECTURE.md, "Batch report");
- ``BATCH.html``: the same, in French, for a commune agent who is not a data specialist — the figures
  first, then what is wrong grouped by rule and column with how to fix it. One self-contained page
  (inline CSS, no script, font or image) so it can be mailed, archived or opened offline;
- ``BATCH-rejets.csv``: the rejected rows with their original cells and an ``erreurs`` column, to be
  fixed in a spreadsheet and dropped again.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from quality.column_names import column_label
from quality.reports import environment, fr_int, write_atomically
from quality.reports.fixes import fix_for, refusal_fix, rule_label
from quality.reports.paths import report_paths

HTML_ROWS_PER_GROUP = 200  # beyond, the page gets slow on a phone; the CSV has every row
RANGES_SHOWN = 40
SAMPLES_SHOWN = 5
ERROR_COLUMNS = ["row", "field", "rule", "value", "message"]

# Labels of the normalisation kinds counted by assets/harmonise/ (assets/harmonise/normalise/ kinds, plus
# the finer-grained kinds a reader may count). An unknown kind is shown with its key.
NORMALISATION_LABELS_FR: dict[str, str] = {
    "whitespace": "espaces en début ou fin de cellule retirés",
    "number": "nombres réécrits (virgule décimale, séparateurs de milliers, €)",
    "decimal_comma": "virgules décimales converties",
    "thousands_separator": "séparateurs de milliers retirés",
    "currency": "symboles monétaires retirés",
    "integer": "entiers écrits comme décimaux (1.0 → 1)",
    "percent": "pourcentages convertis en fraction (45 % → 0.45)",
    "identifier": "identifiants numériques réécrits (SIRET, INSEE…)",
    "siret": "numéros SIRET réécrits sur 14 chiffres",
    "insee": "codes INSEE réécrits sur 5 caractères",
    "leading_zeros": "zéros initiaux restaurés",
    "date": "dates mises au format AAAA-MM-JJ",
    "datetime": "dates-heures mises au format ISO 8601",
    "excel_date": "dates Excel (numéros de série) converties",
    "boolean": "booléens réécrits selon le schéma (oui/non)",
    "enum": "valeurs de liste réécrites à l'orthographe du schéma",
    "period": "périodes mises au format AAAA-MM-JJ/AAAA-MM-JJ",
    "geometry": "points convertis en EWKT WGS 84",
    "geometry-reprojected": "points reprojetés de Lambert-93 en WGS 84",
    "geometry-swapped": "points dont longitude et latitude étaient inversées",
    "geometry-geojson": "géométries écrites en GeoJSON (WGS 84)",
    "geometry-repaired": "géométries invalides réparées (contours auto-intersectés…)",
    "identifier-zeros": "zéros initiaux d'identifiants rétablis (SIRET, SIREN vérifiés par leur clé)",
    "value-alias": "valeurs ramenées à l'écriture du schéma (« Numéraire » → « aide en numéraire »)",
}

# Kinds counted by quality/privacy/: (singular, plural), read after the count. An unknown kind is
# shown with its key.
PRIVACY_LABELS_FR: dict[str, tuple[str, str]] = {
    "email_masked": ("adresse e-mail de particulier masquée", "adresses e-mail de particuliers masquées"),
    "phone_masked": ("numéro de téléphone mobile masqué", "numéros de téléphone mobile masqués"),
    "natural_person_withheld": (
        "bénéficiaire personne physique anonymisé",
        "bénéficiaires personnes physiques anonymisés",
    ),
    "personal_field_withheld": (
        "valeur d'un champ personnel retirée",
        "valeurs de champs personnels retirées",
    ),
    "personal_field_masked": (
        "valeur d'un champ personnel masquée",
        "valeurs de champs personnels masquées",
    ),
}

# Every key of the contract, so a report missing one (an older batch) still renders.
REPORT_DEFAULTS: dict[str, Any] = dict.fromkeys(
    "batch_id producer producer_name dataset dataset_title schema schema_version file_name sha256 "
    "received_at status message refusal_reason schema_version_read".split(),
    "",
)

LEVEL_LABELS_FR = {"error": "Erreur", "warning": "Avertissement"}
FORMAT_LABELS_FR = {
    "csv": "CSV",
    "xlsx": "Excel (XLSX)",
    "xls": "Excel 97 (XLS)",
    "ods": "OpenDocument (ODS)",
}


def write_batch_report(report: dict[str, Any], reports_dir: Path) -> tuple[Path, Path, Path]:
    """Write the batch's HTML page, its JSON and its rejected-rows CSV; return their paths."""
    html_path, json_path, csv_path = report_paths(report, reports_dir)
    # CSV and JSON first: the page links to the CSV, so it must not appear before it.
    write_atomically(csv_path, rejected_rows_csv(report))
    write_atomically(json_path, report_json(report))
    write_atomically(html_path, render_batch_report(report, csv_name=csv_path.name).encode("utf-8"))
    return html_path, json_path, csv_path


def report_json(report: dict[str, Any]) -> bytes:
    return json.dumps(report, ensure_ascii=False, indent=1, default=_json_default).encode("utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


# --------------------------------------------------------------------------- rejected rows CSV


def rejected_rows_csv(report: dict[str, Any]) -> bytes:
    """The rejected rows as the producer wrote them, plus ``erreurs``: every broken rule in French.

    UTF-8 with a byte-order mark and ``;`` as separator, because that is what French Excel opens
    with a double click: without the BOM it reads the file as Windows-1252 (« Ã© » for « é »), and
    with ``,`` it puts every row in one column since ``,`` is the French decimal separator.
    Cells are written as received (no ``'`` prefix against formulas): the agent fixes and drops the
    file again, and a changed cell would come back changed.
    """
    rows = report.get("rejected_rows") or []
    headers: dict[str, None] = {}  # ordered union: a row lacking a column gets an empty cell
    for row in rows:
        headers.update(dict.fromkeys(row.get("cells") or {}))
    columns = list(headers)
    error_column = "erreurs"
    while error_column in headers:  # the producer's own « erreurs » column is kept untouched
        error_column = "_" + error_column
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([*columns, error_column])
    for row in rows:
        cells = row.get("cells") or {}
        explained = " | ".join(_error_text(err, row.get("source_row")) for err in row.get("errors") or [])
        writer.writerow([_cell(cells.get(c, "")) for c in columns] + [explained])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value)


def _error_text(error: dict[str, Any], source_row: Any) -> str:
    message = str(error.get("message") or "").strip()
    if message:
        return message
    # A check that gave no message still names row, column and rule.
    return (
        f"Colonne « {error.get('field', '')} », ligne {source_row} : "
        f"{rule_label(str(error.get('rule', '')))} (« {error.get('value', '')} »)."
    )


# --------------------------------------------------------------------------- HTML


def render_batch_report(report: dict[str, Any], csv_name: str = "rejets.csv") -> str:
    """The batch report as one self-contained French HTML page."""
    rows_read = int(report.get("rows_read") or 0)
    quarantined = int(report.get("rows_quarantined") or 0)
    structure = sorted(report.get("structure") or [], key=lambda s: s.get("level") != "error")
    identity = [f["message"] for f in report.get("identity") or []]
    labels = report.get("column_labels") or {}
    errors = report.get("errors") or []
    # A missing required column is one structure line, not one « valeur obligatoire manquante » per row.
    missing = {str(s.get("column")) for s in structure if s.get("rule") == "missing-required-column"}
    hidden = _required_counts(errors, missing)
    context = {
        "r": {**REPORT_DEFAULTS, **report},
        "refused": report.get("status") == "refused",
        "refusal_fix": refusal_fix(report.get("refusal_reason")),
        "rows_read": rows_read,
        "rows_accepted": int(report.get("rows_accepted") or 0),
        "rows_quarantined": quarantined,
        "share_accepted": (int(report.get("rows_accepted") or 0) / rows_read) if rows_read else None,
        "share_quarantined": (quarantined / rows_read) if rows_read else None,
        "normalisations": normalisation_lines(report.get("normalisations") or {}),
        "privacy": privacy_lines(report.get("privacy") or {}),
        "outside": outside_territory_lines(report.get("outside_territory") or {}),
        "structure": [
            {
                **s,
                "level_label": LEVEL_LABELS_FR.get(s.get("level"), s.get("level")),
                "column_label": _structure_column(s, labels),
                "rows_affected": hidden.get(str(s.get("column")), 0)
                if s.get("rule") == "missing-required-column"
                else 0,
            }
            for s in structure
        ],
        "groups": error_groups(errors, labels=labels, skip_required=missing),
        "warnings": [w for w in _texts(report.get("warnings")) if w not in identity],
        "identity": identity,
        "columns": {"matched": [], "unmatched": [], **(report.get("columns") or {})},
        "refusal": {"missing": [], "closest": [], "found": [], **(report.get("refusal") or {})},
        "read": _read_lines(report.get("read") or {}),
        "csv_name": csv_name,
        "cap": HTML_ROWS_PER_GROUP,
    }
    return environment().get_template("batch.html.j2").render(**context)


def normalisation_lines(counts: dict[str, int]) -> list[dict[str, Any]]:
    """``{kind: count}`` → French lines, most frequent first; unknown kinds keep their key visible."""
    lines = [
        {"kind": kind, "label": NORMALISATION_LABELS_FR.get(kind), "count": int(n)}
        for kind, n in counts.items()
        if n
    ]
    return sorted(lines, key=lambda line: -line["count"])


def privacy_lines(counts: dict[str, int]) -> list[dict[str, Any]]:
    """``{kind: count}`` of the privacy gate → « 3 adresses e-mail de particuliers masquées »…

    Non-zero kinds only, most frequent first; an unknown kind keeps its key (``label`` is None).
    """
    lines = []
    for kind, n in counts.items():
        count = int(n or 0)
        if count <= 0:
            continue
        labels = PRIVACY_LABELS_FR.get(kind)
        label = (labels[0] if count == 1 else labels[1]) if labels else None
        lines.append({"kind": kind, "count": count, "label": label})
    return sorted(lines, key=lambda line: -line["count"])


def outside_territory_lines(outside: dict[str, Any]) -> list[dict[str, Any]]:
    """``{field: [row, …]}`` → one line per column with its rows collapsed into ranges."""
    lines = []
    for column, rows in outside.items():
        numbers = np.unique(
            pd.to_numeric(pd.Series(list(rows or []), dtype=object), errors="coerce").dropna()
        )
        if numbers.size == 0:
            continue
        numbers = numbers.astype("int64")
        lines.append(
            {"field": str(column), "count": int(numbers.size), "rows_text": collapse_ranges(numbers)}
        )
    return lines


def _structure_column(issue: dict[str, Any], labels: dict[str, str]) -> str:
    column = str(issue.get("column") or "")
    if not column:
        return "—"
    if issue.get("rule") in ("missing-required-column", "missing-column"):
        return labels.get(column) or column_label(column)
    return f"« {column} »"  # the agent's own header (an extra column, a duplicate)


def _required_counts(errors: list[dict[str, Any]] | pd.DataFrame, fields: set[str]) -> dict[str, int]:
    """Rows left without a value because their whole column is missing, per missing field."""
    if not fields or len(errors) == 0:
        return {}
    frame = errors if isinstance(errors, pd.DataFrame) else pd.DataFrame(list(errors))
    frame = frame.reindex(columns=ERROR_COLUMNS)
    hit = frame[(frame["rule"] == "required") & frame["field"].isin(fields)]
    return {str(k): int(v) for k, v in hit.groupby("field")["row"].nunique().items()}


def error_groups(
    errors: list[dict[str, Any]] | pd.DataFrame,
    *,
    labels: dict[str, str] | None = None,
    skip_required: set[str] | None = None,
) -> list[dict[str, Any]]:
    """Errors grouped by (rule, column), biggest group first: count, rows, sample values, the fix.

    ``labels`` name each field as the agent's file does (``column_labels`` of the report);
    ``skip_required``: fields whose whole column is missing — their « valeur obligatoire manquante »
    on every row is said once, by the structure line. Built over a frame, not per error, because a bad
    export can carry an error on every row.
    """
    labels = labels or {}
    frame = errors if isinstance(errors, pd.DataFrame) else pd.DataFrame(list(errors))
    frame = frame.reindex(columns=ERROR_COLUMNS)
    if skip_required:
        frame = frame[~((frame["rule"] == "required") & frame["field"].isin(skip_required))]
    if frame.empty:
        return []
    frame["field"] = frame["field"].fillna("").astype(str)
    frame["rule"] = frame["rule"].fillna("").astype(str)
    frame["value"] = frame["value"].fillna("").astype(str)
    frame["message"] = frame["message"].fillna("").astype(str)
    frame["row"] = pd.to_numeric(frame["row"], errors="coerce").fillna(-1).astype("int64")
    frame = frame.sort_values(["rule", "field", "row"], kind="stable")
    groups = []
    for (rule, field), group in frame.groupby(["rule", "field"], sort=False):
        rows = np.unique(group["row"].to_numpy())
        rows = rows[rows >= 0]
        values = group["value"]
        samples = values[values != ""].drop_duplicates().head(SAMPLES_SHOWN).tolist()
        listed = group.head(HTML_ROWS_PER_GROUP)
        groups.append(
            {
                "rule": rule,
                "rule_label": rule_label(rule),
                "field": field,
                "column": labels.get(field) or column_label(field) if field else "—",
                "count": len(group),
                "row_count": len(rows),
                "rows_text": collapse_ranges(rows),
                "samples": samples,
                "any_empty": bool((values == "").any()),
                "fix": fix_for(rule, group["message"].iloc[0]),
                "listed": listed[["row", "value", "message"]].to_dict("records"),
                "hidden": max(0, len(group) - HTML_ROWS_PER_GROUP),
            }
        )
    return sorted(groups, key=lambda g: -g["count"])


def collapse_ranges(rows: np.ndarray | list[int], limit: int = RANGES_SHOWN) -> str:
    """Sorted row numbers as ranges: [2, 3, 4, 7, 9, 10] → « 2 à 4, 7, 9 et 10 » (capped)."""
    rows = np.unique(np.asarray(rows, dtype="int64"))
    if rows.size == 0:
        return ""
    breaks = np.flatnonzero(np.diff(rows) != 1)
    starts = np.concatenate(([rows[0]], rows[breaks + 1]))
    ends = np.concatenate((rows[breaks], [rows[-1]]))
    parts = []
    for start, end in zip(starts[:limit], ends[:limit], strict=True):
        if start == end:
            parts.append(fr_int(start))
        elif end == start + 1:
            parts.extend((fr_int(start), fr_int(end)))
        else:
            parts.append(f"{fr_int(start)} à {fr_int(end)}")
    if len(starts) > limit:
        rest = int(rows.size - np.searchsorted(rows, starts[limit]))
        return ", ".join(parts) + f"… et {fr_int(rest)} autres lignes"
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " et " + parts[-1]


def _texts(items: Any) -> list[str]:
    if not items:
        return []
    if isinstance(items, dict):
        return [f"{k} : {v}" for k, v in items.items()]
    if isinstance(items, str):
        return [items]
    return [i.get("message", str(i)) if isinstance(i, dict) else str(i) for i in items]


def _read_lines(read: dict[str, Any]) -> list[tuple[str, str]]:
    """How the file was read, in words: helps when « the columns are all in one »."""
    delimiters = {
        ";": "point-virgule (;)",
        ",": "virgule (,)",
        "\t": "tabulation",
        "|": "barre verticale (|)",
    }
    lines = []
    if read.get("format"):
        lines.append(("Format", FORMAT_LABELS_FR.get(str(read["format"]).lower(), str(read["format"]))))
    if read.get("encoding"):
        lines.append(("Encodage des caractères", str(read["encoding"])))
    if read.get("delimiter"):
        lines.append(("Séparateur de colonnes", delimiters.get(read["delimiter"], repr(read["delimiter"]))))
    if read.get("sheet"):
        lines.append(("Feuille", str(read["sheet"])))
    if read.get("header_line"):
        lines.append(("Ligne des titres de colonnes", str(read["header_line"])))
    if read.get("blank_lines_dropped"):
        lines.append(("Lignes entièrement vides ignorées", fr_int(read["blank_lines_dropped"])))
    return lines
