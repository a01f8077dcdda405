"""Producer identity: a file naming another authority than the producer who dropped it is flagged in
the batch report and by the WARN check `producteur` — on real files (a Breton commune's budget dropped
as Tours) and on small frames for the rules (unverified SIREN, département, the Métropole's communes)."""

from __future__ import annotations

import shutil

import dagster as dg
import pandas as pd
import pytest
from conftest import REFERENCE
from pipeline_runs import pipeline_runs

from assets.harmonise.ingest import ingest_file
from quality.identity import ProducerIdentity, check_identity
from quality.schema import load_schema
from resources.registry.load import load_registry

REGISTRY = load_registry()
COMMUNES = [p.insee for p in REGISTRY.producers if p.kind == "commune"]
CRACH_BUDGET = REFERENCE / "real-world" / "scdl-budget" / "BUDGET_Crach-annexe-085_CA-2021.csv"
ANTIBES = REFERENCE / "real-world" / "scdl-prenoms" / "PRENOMS_06004_Antibes_2011-2023.csv"


def _who(producer_id: str) -> ProducerIdentity:
    return ProducerIdentity.from_registry(REGISTRY.producer(producer_id), COMMUNES)


def test_real_file_of_another_commune_is_flagged_with_the_column_as_written():
    report = ingest_file(
        ANTIBES, load_schema("scdl-prenoms"), context={"file_name": ANTIBES.name}, producer=_who("tours")
    ).report
    [finding] = report["identity"]
    assert finding["column"] == "COLL_INSEE" and finding["value"] == "06004"
    assert finding["rows"] == report["rows_read"]  # every row names Antibes
    assert "Ville de Tours" in finding["message"] and finding["message"] in report["warnings"]
    # Flagged, not rejected: the rows are judged by the schema alone.
    assert report["status"] == "loaded" and report["rows_accepted"] > 0


def test_departement_siret_dropped_by_a_commune_says_departement():
    frame = pd.DataFrame({"idAttribuant": ["22490001900015", "22490001900015", ""]}, index=[2, 3, 4])
    [finding] = check_identity(
        frame, "scdl-subventions", _who("tours"), {"idAttribuant": "SIRET collectivité"}
    )
    assert finding["rows"] == 2 and "un département" in finding["message"]
    assert "« SIRET collectivité »" in finding["message"]


def test_a_commune_is_recognised_by_its_own_siret_even_with_an_unverified_siren():
    # Joué-lès-Tours' registry SIREN is computed (unverified): its own SIRETs must never be flagged,
    # whatever check digit the real SIREN has; Tours' SIRET, in the same column, is.
    joue = _who("joue-les-tours")
    assert not joue.siren_verified
    own = "21370122" + "9" + "00017"  # same eight-digit stem, another check digit than the registry's
    frame = pd.DataFrame({"idAttribuant": [own, "21370261600019"]}, index=[2, 3])
    findings = check_identity(frame, "scdl-subventions", joue)
    assert [f["value"] for f in findings] == ["21370261600019"]


def test_metropole_may_publish_addresses_of_its_communes_only():
    frame = pd.DataFrame({"commune_insee": ["37261", "37122", "31591"]}, index=[2, 3, 4])
    findings = check_identity(frame, "etalab-bal", _who("metropole"))
    assert [f["value"] for f in findings] == ["31591"]
    assert check_identity(frame.iloc[:1], "etalab-bal", _who("tours")) == []


@pytest.mark.slow
def test_pipeline_flags_a_foreign_budget_with_a_warn_check(home, fresh_pg_url):
    inbox = home / "inbox" / "tours" / "budget"
    inbox.mkdir(parents=True)
    shutil.copy(CRACH_BUDGET, inbox / CRACH_BUDGET.name)
    runs = pipeline_runs(home, fresh_pg_url, "budget")
    result = runs.ingest("tours")
    assert result.success
    [check] = [c for c in result.get_asset_check_evaluations() if c.check_name == "producteur"]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.WARN
    [foreign] = check.metadata["other_authorities"].value
    assert foreign["column"] == "BGT_SIRET" and foreign["value"] == "21560046100085"
    # The batch itself is loaded as the schema allows: identity is a warning for the data team.
    [meta] = [m for m in result.get_asset_materialization_events() if m.asset_key.path[-1] == "harmonised"]
    assert meta.materialization.metadata["status"].value == "loaded"
    report = (home / "reports" / "tours" / "budget").glob("*.json")
    texts = [p.read_text(encoding="utf-8") for p in report]
    assert any("21560046100085" in t and "Ville de Tours" in t for t in texts)
