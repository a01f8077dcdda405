"""One file through read → harmonise → validate: conservation and what the structure report says."""

import csv
import dataclasses
import json
from pathlib import Path

import pandas as pd
from conftest import REFERENCE

from assets.harmonise.ingest import ingest_file
from quality.schema import load_schema

NIEVRE = REFERENCE / "real-world-subventions" / "DEP_Nievre_CD58_SUBVENTIONS_2016_LISTE.csv"


def test_fields_a_crosswalk_builds_are_not_reported_missing():
    result = ingest_file(NIEVRE, load_schema("scdl-subventions"), context={"file_name": NIEVRE.name})
    report = result.report
    errors = {s["column"] for s in report["structure"] if s["level"] == "error"}
    # SUB_DATE_DEBUT + SUB_DATE_FIN feed datesPeriodeVersement; v1 had no pourcentageSubvention, which
    # 2.1.1 requires: the file is refused whole (not 97 rows quarantined) and says what is missing.
    assert "datesPeriodeVersement" not in errors and errors == {"pourcentageSubvention"}
    assert report["status"] == "refused" and report["refusal"]["missing"] == ["pourcentageSubvention"]
    assert report["rows_in_file"] == 97 and report["rows_read"] == 0
    assert "pourcentageSubvention" in report["message"] and NIEVRE.name in report["message"]


def test_a_point_the_platform_builds_is_not_expected_in_the_file(tmp_path: Path):
    schema = load_schema("naturalsolutions-arbres-urbains").with_point("longitude", "latitude")
    frame = pd.DataFrame({f: [""] for f in schema.field_names if f != "geom"})
    path = tmp_path / "arbres.csv"
    frame.assign(longitude="0.6848", latitude="47.3941").to_csv(path, index=False, sep=";")
    report = ingest_file(path, schema, context={"file_name": path.name}).report
    assert "geom" not in {s["column"] for s in report["structure"]}


EXAMPLE = (
    Path(__file__).resolve().parents[2] / "shared" / "schemas" / "scdl-subventions" / "exemple-valide.csv"
)


def _with_constraint(schema, name: str, **constraints):
    fields = [
        dataclasses.replace(f, constraints={**f.constraints, **constraints}) if f.name == name else f
        for f in schema.fields
    ]
    return dataclasses.replace(schema, fields=fields, _by_name={f.name: f for f in fields})


def test_a_mask_that_breaks_the_schema_quarantines_its_row_never_the_file(tmp_path: Path):
    """The marker is longer than the phone number: with objet limited to 24 characters the masked
    row no longer fits. It goes to quarantine with its value masked; every other row loads."""
    schema = _with_constraint(load_schema("scdl-subventions"), "objet", maxLength=24)
    rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8", newline="")))[:4]
    rows[0]["objet"] = "Tél. 06 12 34 56 78"  # 19 characters; masked: 23, still fits
    rows[1]["objet"] = "Tél. 06 12 34 56 78 (soir)"[:24]  # masked: 29 characters, too long
    for row in rows[2:]:
        row["objet"] = row["objet"][:24]
    path = tmp_path / "subventions.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = ingest_file(path, schema, context={"file_name": path.name})
    report = result.report
    assert report["status"] == "loaded"
    assert (report["rows_read"], report["rows_accepted"], report["rows_quarantined"]) == (4, 3, 1)
    assert result.accepted.set_index("source_row").at[2, "objet"] == "Tél. [téléphone masqué]"
    (rejected,) = report["rejected_rows"]
    assert rejected["source_row"] == 3
    assert "06 12 34 56 78" not in json.dumps(report, ensure_ascii=False)
    assert rejected["cells"]["objet"].startswith("Tél. [téléphone masqué]")
    assert any("masquée" in e["message"] and e["field"] == "objet" for e in rejected["errors"])


def test_implausible_dates_are_warned_about_and_kept(tmp_path: Path):
    rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8", newline="")))[:3]
    rows[0]["dateConvention"] = "0202-03-01"
    rows[1]["dateConvention"] = "2204-01-01"
    path = tmp_path / "subventions.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    result = ingest_file(path, load_schema("scdl-subventions"), context={"file_name": path.name})
    assert result.report["rows_accepted"] == 3
    (warning,) = [w for w in result.report["warnings"] if "improbable" in w]
    assert "« dateConvention »" in warning and "2, 3" in warning
    assert sorted(result.accepted["dateConvention"]) == sorted(
        ["0202-03-01", "2204-01-01", rows[2]["dateConvention"]]
    )
