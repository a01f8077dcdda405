"""The territory asset through dg.materialize: consolidation, held versions and the blocking gate."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from conftest import SHARED_SCHEMAS
from pipeline_runs import pipeline_runs

from assets.keys import asset_key
from resources.registry.load import load_registry

VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"
UNIQUE_KEY = "porte_unique_idAttribuant_referenceDecision"


@pytest.fixture()
def platform(home: Path, fresh_pg_url: str):
    dataset = (
        load_registry()
        .dataset("subventions")
        .model_copy(
            update={"consolidation": {"key": ["idAttribuant", "referenceDecision"], "prefer": ["metropole"]}}
        )
    )
    runs = pipeline_runs(home, fresh_pg_url, dataset)

    def ingest(producer: str) -> None:
        assert runs.ingest(producer).success

    engine = sa.create_engine(fresh_pg_url)
    yield dataset, runs.store, runs.warehouse, ingest, lambda: runs.publish(raise_on_error=False), engine
    engine.dispose()
    runs.warehouse.dispose()


def _rows(engine, query: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(query))]


def _territory(result: dg.ExecuteInProcessResult, dataset) -> dict:
    events = result.get_asset_materialization_events()
    (event,) = [e for e in events if e.asset_key == asset_key(dataset, "territory")]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def _materialized(result: dg.ExecuteInProcessResult) -> set[str]:
    return {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}


def test_territory_versions_holds_and_gate(platform, tmp_path: Path):
    dataset, store, warehouse, ingest, publish, engine = platform
    lines = VALID.read_text(encoding="utf-8").splitlines(keepends=True)
    store.drop("tours", "subventions", VALID)
    store.drop("metropole", "subventions", VALID)
    ingest("tours")
    ingest("metropole")

    # The same 29 grants from the Métropole and from Tours: the Métropole's are preferred.
    first = publish()
    assert first.success
    checks = {e.check_name: e.passed for e in first.get_asset_check_evaluations()}
    assert checks[UNIQUE_KEY] is True and all(checks.values())
    assert "porte_obligatoire_montant" in checks and "porte_liste_nature" in checks
    assert "porte_nombre_de_lignes" in checks
    meta = _territory(first, dataset)
    assert (meta["status"], meta["version"], meta["rows"], meta["duplicates_resolved"]) == (
        "published",
        1,
        29,
        29,
    )
    assert "| metropole | 0 | 29 | 29 | 0 | 0 |" in meta["diff"]
    assert _rows(engine, "select producer, count(*) from published.subventions group by 1") == [
        ("metropole", 29)
    ]
    assert _rows(
        engine, "select count(*) from published.subventions_duplicates where loser_producer = 'tours'"
    ) == [(29,)]
    assert _materialized(first) == {"territory", "published"}

    # A truncated re-drop from the Métropole: held, the 29 rows of version 1 stay published.
    truncated = tmp_path / "subventions-metropole-tronque.csv"
    truncated.write_text("".join(lines[:3]), encoding="utf-8")
    store.drop("metropole", "subventions", truncated)
    ingest("metropole")
    held = publish()
    meta = _territory(held, dataset)
    assert (meta["status"], meta["version"]) == ("held", 2)
    assert _rows(engine, "select producer, count(*) from published.subventions group by 1") == [
        ("metropole", 29)
    ]

    # Two grants of Fondettes under one key: the gate fails and nothing downstream runs.
    header, row = lines[0], lines[1].split(",")
    row[3] = "DELIB-FONDETTES-1"
    twice = tmp_path / "subventions-fondettes.csv"
    twice.write_text(
        header + ",".join(row) + ",".join(row[:7] + ["Investissement"] + row[8:]), encoding="utf-8"
    )
    store.drop("fondettes", "subventions", twice)
    ingest("fondettes")
    blocked = publish()
    assert not blocked.success
    failed = [e for e in blocked.get_asset_check_evaluations() if not e.passed]
    assert [e.check_name for e in failed] == [UNIQUE_KEY]
    assert failed[0].severity == dg.AssetCheckSeverity.ERROR
    assert _territory(blocked, dataset)["status"] == "blocked"
    assert _materialized(blocked) == {"territory"}  # the published files were not rewritten
    assert _rows(engine, "select count(*) from published.subventions") == [(29,)]
    assert list(warehouse.publications("subventions")["status"]) == ["published", "held"]

    # The data team approves version 2: the Métropole's two rows and Tours' other 27 are published.
    warehouse.approve("subventions", 2)
    assert _rows(engine, "select producer, count(*) from published.subventions group by 1 order by 1") == [
        ("metropole", 2),
        ("tours", 27),
    ]
