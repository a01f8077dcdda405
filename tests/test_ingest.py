"""One file through read → harmonise → validate: conservation and what the structure report says."""

from pathlib import Path

import pandas as pd
from conftest import REFERENCE

from assets.ingest import ingest_file
from quality.schema import load_schema

NIEVRE = REFERENCE / "real-world-subventions" / "DEP_Nievre_CD58_SUBVENTIONS_2016_LISTE.csv"


def test_fields_a_crosswalk_builds_are_not_reported_missing():
    result = ingest_file(NIEVRE, load_schema("scdl-subventions"), context={"file_name": NIEVRE.name})
    report = result.report
    assert report["rows_read"] == report["rows_accepted"] + report["rows_quarantined"] == 97
    errors = {s["column"] for s in report["structure"] if s["level"] == "error"}
    # SUB_DATE_DEBUT + SUB_DATE_FIN feed datesPeriodeVersement; v1 had no pourcentageSubvention.
    assert "datesPeriodeVersement" not in errors and errors == {"pourcentageSubvention"}


def test_a_point_the_platform_builds_is_not_expected_in_the_file(tmp_path: Path):
    schema = load_schema("naturalsolutions-arbres-urbains").with_point("longitude", "latitude")
    frame = pd.DataFrame({f: [""] for f in schema.field_names if f != "geom"})
    path = tmp_path / "arbres.csv"
    frame.assign(longitude="0.6848", latitude="47.3941").to_csv(path, index=False, sep=";")
    report = ingest_file(path, schema, context={"file_name": path.name}).report
    assert "geom" not in {s["column"] for s in report["structure"]}
