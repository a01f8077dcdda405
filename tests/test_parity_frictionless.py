"""Our strict validation gives frictionless 5's verdict on every official example file.

For the standard Table Schema rules, the set of (row, field, rule) must be the same as
``frictionless.validate(path, schema=..., detector=Detector(schema_sync=True))`` (what Validata runs).
Custom checks are Validata's own and frictionless does not know them: they are left out here.
"""

from __future__ import annotations

import json
import re

import frictionless
import pytest
from conftest import SHARED_SCHEMAS
from frictionless import Detector

from assets.read.strict import STANDARD_RULES, validate_file
from quality.schema import SCHEMAS_DIR, available_schemas, frictionless_descriptor, load_schema

STANDARD = STANDARD_RULES


def _examples() -> list[tuple[str, str]]:
    cases = []
    for name in available_schemas():
        for path in sorted((SHARED_SCHEMAS / name).glob("exemple-*.csv")):
            cases.append((name, path.name))
    return cases


def _frictionless_set(name: str, path) -> set[tuple[int, str, str]]:
    schema = load_schema(name)
    fl_schema = frictionless.Schema.from_descriptor(frictionless_descriptor(schema.descriptor))
    resource = frictionless.Resource(
        path=path.name, basepath=str(path.parent), schema=fl_schema, detector=Detector(schema_sync=True)
    )
    report = resource.validate()
    out = set()
    for task in report.tasks:
        for err in task.errors:
            assert err.type not in ("resource-error", "source-error", "scheme-error"), err.note
            if err.type in ("type-error",):
                field = schema.field(err.field_name)
                rule = "format" if field.type == "string" and field.format else "type"
                out.add((err.row_number, err.field_name, rule))
            elif err.type == "constraint-error":
                rule = re.match(r'(?:array item )?constraint "(\w+)"', err.note)
                out.add((err.row_number, err.field_name, rule[1] if rule else "?"))
            elif err.type == "unique-error":
                out.add((err.row_number, err.field_name, "unique"))
            elif err.type == "primary-key":
                out.add((err.row_number, ", ".join(schema.primary_key), "primary-key"))
    return out


def _ours(name: str, path) -> set[tuple[int, str, str]]:
    report = validate_file(path, load_schema(name))
    return {(r["row"], r["field"], r["rule"]) for r in report.to_records() if r["rule"] in STANDARD}


@pytest.mark.parametrize(("name", "example"), _examples())
def test_same_cell_errors_as_frictionless(name: str, example: str) -> None:
    path = SHARED_SCHEMAS / name / example
    assert _ours(name, path) == _frictionless_set(name, path)


def test_every_shipped_example_is_covered() -> None:
    shipped = {(p.parent.name, p.name) for p in SCHEMAS_DIR.glob("*/exemple-*.csv")}
    assert shipped == set(_examples())
    assert len(shipped) >= 10


@pytest.mark.parametrize(("name", "example"), [c for c in _examples() if "invalide" not in c[1]])
def test_valid_example_has_no_standard_error(name: str, example: str) -> None:
    report = validate_file(SHARED_SCHEMAS / name / example, load_schema(name))
    standard = [r for r in report.to_records() if r["rule"] in STANDARD]
    assert standard == []
    assert not [i for i in report.structure if i.level == "error"]


def test_subventions_invalid_cells_exactly() -> None:
    path = SHARED_SCHEMAS / "scdl-subventions" / "exemple-invalide-erreurs-cellules.csv"
    expected = {
        (2, "pourcentageSubvention", "maximum"),
        (3, "pourcentageSubvention", "maximum"),
        (4, "pourcentageSubvention", "maximum"),
        (5, "dateConvention", "type"),
        (5, "rnaBeneficiaire", "pattern"),
        (6, "montant", "type"),
        (6, "notificationUE", "type"),
        (7, "idAttribuant", "pattern"),
        (8, "datesPeriodeVersement", "pattern"),
        (8, "notificationUE", "type"),
        (9, "pourcentageSubvention", "type"),
        (10, "montant", "required"),
        (12, "rnaBeneficiaire", "pattern"),
        (16, "nature", "enum"),
        (30, "rnaBeneficiaire", "pattern"),
    }
    assert _ours("scdl-subventions", path) == expected == _frictionless_set("scdl-subventions", path)
    report = validate_file(path, load_schema("scdl-subventions"))
    records = {(r["row"], r["field"], r["rule"]): r for r in report.to_records()}
    assert records[(7, "idAttribuant", "pattern")]["message"] == (
        "Colonne « idAttribuant », ligne 7 : « 218601946 » ne respecte pas le motif attendu (14 chiffres)."
    )
    # row 9 has neither idBeneficiaire nor rnaBeneficiaire: Validata's one-of-required
    assert (9, "idBeneficiaire", "one-of-required") in records


def test_subventions_invalid_columns_structure() -> None:
    path = SHARED_SCHEMAS / "scdl-subventions" / "exemple-invalide-erreurs-colonnes.csv"
    report = validate_file(path, load_schema("scdl-subventions"))
    issues = {(i.level, i.rule, i.column) for i in report.structure}
    assert ("error", "missing-required-column", "nomBeneficiaire") in issues
    assert ("warning", "extra-column", "NOM_Beneficiaire") in issues
    assert ("warning", "column-order", "") in issues
    assert not report.valid
    assert report.to_records()[0] == {
        "row": None,
        "field": "nomBeneficiaire",
        "rule": "missing-required-column",
        "value": None,
        "message": "Colonne obligatoire « nomBeneficiaire » absente du fichier.",
    }
    # the cells of the columns that are there are still checked, as frictionless does
    assert _ours("scdl-subventions", path) == _frictionless_set("scdl-subventions", path)


def test_shipped_schemas_are_the_official_files() -> None:
    for name in available_schemas():
        # BAL ships several versions in its own layout; territoire-arrets is the platform's own schema.
        if name in ("etalab-bal", "territoire-arrets"):
            continue
        if name == "etalab-zfe":
            # The official ZFE schema is a JSON Schema for GeoJSON, shipped as is beside the Table
            # Schema derived from it (see its SOURCE.md).
            ours = json.loads((SCHEMAS_DIR / name / "official-jsonschema.json").read_text(encoding="utf-8"))
            assert ours == json.loads((SHARED_SCHEMAS / name / "schema.json").read_text(encoding="utf-8"))
            continue
        ours = json.loads((SCHEMAS_DIR / name / "schema.json").read_text(encoding="utf-8"))
        official = json.loads((SHARED_SCHEMAS / name / "schema.json").read_text(encoding="utf-8"))
        assert ours == official
