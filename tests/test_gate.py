"""The warehouse gate: GX expectations from the Table Schema, run as SQL against real PostGIS."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa

from quality.gate import GateResult, build_suite, geometry_columns, run_gate
from quality.schema import load_schema

SCHEMA = load_schema("scdl-subventions")
REQUIRED = [f.name for f in SCHEMA.fields if f.required]
KEY = ["idAttribuant", "referenceDecision"]


@pytest.fixture
def engine(fresh_pg_url: str):
    """The engine the gate is handed (the warehouse resource's, in the pipeline)."""
    engine = sa.create_engine(fresh_pg_url)
    yield engine
    engine.dispose()


def _rows(count: int) -> pd.DataFrame:
    """A territory's worth of valid grants: two producers, one key per row."""
    frame = pd.DataFrame(
        {
            "nomAttribuant": ["Ville de Tours", "Ville de Joué-lès-Tours"] * (count // 2),
            "idAttribuant": ["21370261100017", "21370122500017"] * (count // 2),
            "dateConvention": "2024-03-01",
            "referenceDecision": [f"D-2024-{i // 2:05d}" for i in range(count)],
            "nomBeneficiaire": [f"Association {i}" for i in range(count)],
            "idBeneficiaire": "",
            "rnaBeneficiaire": None,
            "objet": "Subvention de fonctionnement",
            "montant": 1500.0,
            "nature": "aide en numéraire",
            "conditionsVersement": "unique",
            "datesPeriodeVersement": "2024-04-01",
            "idRAE": None,
            "notificationUE": False,
            "pourcentageSubvention": 1.0,
            "dispositifAide": None,
            "geom": [f"SRID=4326;POINT(0.{6800 + i % 100} 47.39)" for i in range(count)],
        }
    )
    return frame


def _create(url: str, table: str, frame: pd.DataFrame, schema: str = "public") -> None:
    engine = sa.create_engine(url)
    types = {"montant": "numeric", "pourcentageSubvention": "numeric", "notificationUE": "boolean"}
    columns = ", ".join(
        f'"{c}" {"geometry(Point, 4326)" if c == "geom" else types.get(c, "text")}' for c in frame.columns
    )
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        conn.execute(sa.text(f'CREATE TABLE "{schema}"."{table}" ({columns})'))
        placeholders = ", ".join(f":p{i}" for i in range(len(frame.columns)))
        names = ", ".join(f'"{c}"' for c in frame.columns)
        records = [
            {f"p{i}": (None if pd.isna(v) else v) for i, v in enumerate(row)}
            for row in frame.itertuples(index=False)
        ]
        conn.execute(sa.text(f'INSERT INTO "{schema}"."{table}" ({names}) VALUES ({placeholders})'), records)
    engine.dispose()


def _by_name(result: GateResult) -> dict:
    return {r.name: r for r in result.results}


def test_suite_is_derived_from_the_schema() -> None:
    suite = build_suite(SCHEMA, "published_candidate", geo=True, key=KEY, expected_rows=(10, 20))
    names = [e.meta["name"] for e in suite]
    assert names == (
        ["unique:idAttribuant,referenceDecision"]
        + [f"required:{n}" for n in REQUIRED]
        + ["enum:nature", "geometry:geom", "row-count"]
    )
    assert type(suite[0]).__name__ == "ExpectCompoundColumnsToBeUnique"
    assert suite[-1].min_value == 10 and suite[-1].max_value == 20
    single = build_suite(SCHEMA, "t", geo=False, key=["referenceDecision"], expected_rows=None)
    assert type(single[0]).__name__ == "ExpectColumnValuesToBeUnique"
    assert not any(e.meta["name"].startswith(("geometry", "row-count")) for e in single)
    # a schema with a geopoint field checks that field, not a derived column
    assert geometry_columns(load_schema("etalab-irve-statique")) == ["coordonneesXY"]
    with pytest.raises(ValueError, match="absents du schéma"):
        build_suite(SCHEMA, "t", geo=False, key=["siret"], expected_rows=None)


def test_gate_passes_a_clean_table_and_fails_each_broken_rule(fresh_pg_url: str, engine: sa.Engine) -> None:
    clean = _rows(20)
    _create(fresh_pg_url, "published_candidate", clean)
    suite = build_suite(SCHEMA, "published_candidate", geo=True, key=KEY, expected_rows=(10, 30))
    result = run_gate(engine, "public", "published_candidate", suite)
    assert result.success, [(r.name, r.observed, r.details) for r in result.failures]
    assert len(result.results) == len(suite)
    assert _by_name(result)["row-count"].observed == 20
    print(f"gate on 20 rows: {result.seconds:.2f} s")

    broken = clean.copy()
    broken.loc[3, ["idAttribuant", "referenceDecision"]] = broken.loc[
        1, ["idAttribuant", "referenceDecision"]
    ]
    broken.loc[5, "montant"] = None  # required
    broken.loc[[6, 7], "nature"] = "virement"  # not in the enum
    broken.loc[8, "geom"] = None  # a row without geometry
    _create(fresh_pg_url, "broken_candidate", broken)
    suite = build_suite(SCHEMA, "broken_candidate", geo=True, key=KEY, expected_rows=(100, 200))
    result = run_gate(engine, "public", "broken_candidate", suite)
    assert not result.success
    failed = {r.name: r for r in result.failures}
    assert set(failed) == {
        "unique:idAttribuant,referenceDecision",
        "required:montant",
        "enum:nature",
        "geometry:geom",
        "row-count",
    }
    assert failed["unique:idAttribuant,referenceDecision"].observed == 2  # both rows of the pair
    assert failed["required:montant"].observed == 1
    assert failed["enum:nature"].observed == 2
    assert failed["enum:nature"].details["sample"] == ["virement", "virement"]
    assert failed["geometry:geom"].observed == 1
    assert failed["row-count"].observed == 20
    assert "territoire" in failed["unique:idAttribuant,referenceDecision"].details["description"]


def test_single_column_key_unique_across_producers(fresh_pg_url: str, engine: sa.Engine) -> None:
    frame = _rows(6)
    frame["referenceDecision"] = ["A", "B", "C", "D", "E", "A"]  # two producers, same reference
    _create(fresh_pg_url, "published_candidate", frame)
    suite = build_suite(
        SCHEMA, "published_candidate", geo=False, key=["referenceDecision"], expected_rows=None
    )
    result = run_gate(engine, "public", "published_candidate", suite)
    assert [r.name for r in result.failures] == ["unique:referenceDecision"]
    assert result.failures[0].observed == 2 and result.failures[0].details["sample"] == ["A", "A"]
    frame["referenceDecision"] = list("ABCDEF")
    _create(fresh_pg_url, "fixed_candidate", frame)
    suite = build_suite(SCHEMA, "fixed_candidate", geo=False, key=["referenceDecision"], expected_rows=(6, 6))
    assert run_gate(engine, "public", "fixed_candidate", suite).success


def test_a_missing_geometry_column_fails_the_gate(fresh_pg_url: str, engine: sa.Engine) -> None:
    _create(fresh_pg_url, "published_candidate", _rows(4).drop(columns="geom"))
    suite = build_suite(SCHEMA, "published_candidate", geo=True, key=None, expected_rows=None)
    result = run_gate(engine, "public", "published_candidate", suite)
    assert [r.name for r in result.failures] == ["geometry:geom"]
    assert "geom" in result.failures[0].details["exception"]


def test_table_in_the_published_schema_not_a_namesake_in_public(fresh_pg_url: str, engine: sa.Engine) -> None:
    _create(fresh_pg_url, "subventions", _rows(4), schema="published")
    broken = _rows(4)
    broken["montant"] = None
    _create(fresh_pg_url, "subventions", broken)  # same name in public: must not be the one checked
    suite = build_suite(SCHEMA, "subventions", geo=True, key=KEY, expected_rows=(4, 4))
    result = run_gate(engine, "published", "subventions", suite)
    assert result.success and result.table == "published.subventions"
    with pytest.raises(LookupError, match="published.absente"):
        run_gate(engine, "published", "absente", suite)
