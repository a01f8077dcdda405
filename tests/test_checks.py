import json

import pandas as pd
import pytest

from quality.schema import load_schema, load_schema_file
from quality.validate import validate_frame
from quality.validate.checks import CHECKS, siren_valid, siret_valid


def test_siret_siren_luhn_and_la_poste() -> None:
    sirets = pd.Series(
        [
            "52499120500013",
            "52499120500014",
            "524 991 205 00013",
            "35600000000048",
            "35600000012340",
            "35600000012341",
            "123",
            "abcdefghijklmn",
        ]
    )
    # La Poste: digit sum 24 (refused) then 25 (accepted), Luhn not used
    assert siret_valid(sirets).tolist() == [True, False, True, True, False, True, False, False]
    assert siren_valid(pd.Series(["524991205", "524991206", "356000000", "12"])).tolist() == [
        True,
        False,
        True,
        False,
    ]


def _schema(tmp_path, fields, checks):
    path = tmp_path / "schema.json"
    path.write_text(json.dumps({"fields": fields, "custom_checks": checks}), encoding="utf-8")
    return load_schema_file(path, name=f"essai-{abs(hash(json.dumps(checks)))}")


def _rules(result):
    return set(zip(result.errors.row, result.errors.field, result.errors.rule, strict=True))


def test_registered_names() -> None:
    for name in (
        "french-siret-value",
        "french-siren-value",
        "french-gps-coordinates",
        "french_gps_coordinates",
        "year-interval-value",
        "cohesive-columns-value",
        "compare-columns-value",
        "sum-columns-value",
        "one-of-required",
        "opening-hours-value",
        "phone-number-value",
        "nomenclature-actes-value",
    ):
        assert name in CHECKS


def test_gps_detects_swapped(tmp_path) -> None:
    schema = _schema(
        tmp_path,
        [{"name": "xy", "type": "geopoint", "format": "array"}],
        [{"name": "french_gps_coordinates", "params": {"column": "xy"}}],
    )
    frame = pd.DataFrame(
        {"xy": ["[0.6848, 47.3941]", "[47.3941, 0.6848]", "[-73.5, 45.5]", "", "x"]}, index=[2, 3, 4, 5, 6]
    )
    result = validate_frame(frame, schema)
    assert _rules(result) == {
        (3, "xy", "french-gps-coordinates"),
        (4, "xy", "french-gps-coordinates"),
        (6, "xy", "type"),
    }
    messages = result.errors.set_index("row").message
    assert "inversées" in messages[3] and "inversées" not in messages[4]


def test_deliberations_checks() -> None:
    schema = load_schema("scdl-deliberations")
    frame = pd.DataFrame({name: [""] * 4 for name in schema.field_names}, index=[2, 3, 4, 5])
    frame["COLL_SIRET"] = ["21370261600019", "21060004500392", "", ""]
    frame["BUDGET_ANNEE"] = ["2020/2021", "2021/2020", "2020", "20"]
    frame["BUDGET_NOM"] = ["Principal", "Principal", "", "x"]
    frame["PREF_DATE"] = ["2020-01-10", "2020-01-01", "", ""]
    frame["DELIB_DATE"] = ["2020-01-05", "2020-01-05", "", ""]
    frame["VOTE_EFFECTIF"] = ["10", "10", "", ""]
    frame["VOTE_REEL"] = ["9", "9", "", ""]
    frame["VOTE_POUR"] = ["5", "5", "", ""]
    frame["VOTE_CONTRE"] = ["4", "1", "", ""]
    frame["VOTE_ABSTENTION"] = ["0", "1", "", ""]
    frame["DELIB_MATIERE_NOM"] = [
        "Urbanisme/Documents d'urbanisme",
        "finances locales/Budget",
        "Voirie",
        "Urbanisme/ X",
    ]
    got = {
        (r, f, rule)
        for r, f, rule in _rules(validate_frame(frame, schema))
        if rule not in {"required", "type", "pattern", "enum"}
    }
    assert got == {
        (2, "COLL_SIRET", "french-siret-value"),
        (3, "BUDGET_ANNEE", "year-interval-value"),
        (5, "BUDGET_ANNEE", "year-interval-value"),
        (4, "BUDGET_ANNEE", "cohesive-columns-value"),
        (3, "PREF_DATE", "compare-columns-value"),
        (3, "VOTE_REEL", "sum-columns-value"),
        (4, "DELIB_MATIERE_NOM", "nomenclature-actes-value"),
        (5, "DELIB_MATIERE_NOM", "nomenclature-actes-value"),
    }


@pytest.mark.parametrize(
    ("check", "good", "bad"),
    [
        ("opening-hours-value", "Mo-Fr 08:30-12:00,14:00-17:30", "lundi 8h-12h"),
        ("phone-number-value", "02 47 21 60 00", "12345"),
    ],
)
def test_library_formats(tmp_path, check, good, bad) -> None:
    schema = _schema(
        tmp_path, [{"name": "c", "type": "string"}], [{"name": check, "params": {"column": "c"}}]
    )
    result = validate_frame(pd.DataFrame({"c": [good, bad, ""]}, index=[2, 3, 4]), schema)
    assert _rules(result) == {(3, "c", check)}


def test_one_of_required_when_a_column_is_absent(tmp_path) -> None:
    schema = _schema(
        tmp_path,
        [{"name": "a", "type": "string"}, {"name": "b", "type": "string"}],
        [{"name": "one-of-required", "params": {"column1": "a", "column2": "b"}}],
    )
    result = validate_frame(pd.DataFrame({"a": ["x", ""]}, index=[2, 3]), schema)
    assert _rules(result) == {(3, "a", "one-of-required")}
