"""Holds are per producer, and a row belongs to its producer (issue 12 item 4, issue 13 item 2).

Two communes and the Métropole send grants under the same ids. The dataset's rule (key
idAttribuant + referenceDecision, the Métropole preferred, else the latest batch) decides who wins;
a producer that would take over rows another producer published is held for approval, alone: the
other producers' new rows are published meanwhile, and both producers' reports say which rows and why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import SHARED_SCHEMAS
from pipeline_runs import pipeline_runs

from resources.registry.load import load_registry

VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"


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
    engine = sa.create_engine(fresh_pg_url)
    yield runs, engine
    engine.dispose()
    runs.warehouse.dispose()


def _rows(engine, query: str) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(query))]


def _published(engine) -> dict[str, int]:
    return dict(_rows(engine, "select producer, count(*) from published.subventions group by 1"))


def _report(runs, producer: str) -> dict:
    batch = runs.warehouse.current_batches("subventions")[producer]
    path = runs.store.reports_dir / producer / "subventions" / f"{batch}.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _other_ids(tmp_path: Path, name: str, rows: int) -> Path:
    """Grants of the example under references of their own (no key shared with anyone)."""
    lines = VALID.read_text(encoding="utf-8").splitlines(keepends=True)
    body = [line.replace("CONV N°", f"{name.upper()} N°", 1) for line in lines[1 : rows + 1]]
    path = tmp_path / f"{name}.csv"
    path.write_text(lines[0] + "".join(body), encoding="utf-8")
    return path


def test_takeover_is_held_for_its_producer_only_and_both_reports_say_which_rows(platform, tmp_path):
    runs, engine = platform
    runs.store.drop("tours", "subventions", VALID)
    assert runs.ingest("tours").success
    assert runs.publish().success
    assert _published(engine) == {"tours": 29}

    # Joué sends the same 29 grants (same keys), later than Tours: the latest batch would win, so Joué
    # would take over 29 rows Tours published. Luynes sends 5 grants of its own at the same time.
    runs.store.drop("joue-les-tours", "subventions", VALID)
    runs.store.drop("luynes", "subventions", _other_ids(tmp_path, "luynes", 5))
    assert runs.ingest("joue-les-tours").success and runs.ingest("luynes").success
    assert runs.publish().success
    assert _published(engine) == {"tours": 29, "luynes": 5}  # Luynes is not held back by Joué
    (held,) = runs.warehouse.holds("subventions")
    assert held["producers"] == ["joue-les-tours"]
    (hold,) = held["holds"]
    assert hold["kind"] == "takeover" and hold["takeover_rows"] == 29
    assert {r["from"] for r in hold["takeover"]} == {"tours"}
    statuses = list(runs.warehouse.publications("subventions")[["version", "status"]].itertuples(index=False))
    assert [tuple(s) for s in statuses] == [(1, "superseded"), (2, "held"), (3, "published")]

    joue, tours = _report(runs, "joue-les-tours"), _report(runs, "tours")
    assert (
        joue["holds"][0]["role"] == "held" and "territoire approve subventions 2" in joue["holds"][0]["text"]
    )
    assert len(joue["holds"][0]["rows"]) == 29
    assert tours["holds"][0]["role"] == "taken" and "joue-les-tours" in tours["holds"][0]["text"]
    assert {r["key"]["referenceDecision"] for r in tours["holds"][0]["rows"]} == {
        r["referenceDecision"]
        for r in runs.warehouse.read_table("published", "subventions").to_dict("records")
        if r["producer"] == "tours"
    }
    html = (runs.store.reports_dir / "tours" / "subventions" / f"{tours['batch_id']}.html").read_text()
    assert "Vos lignes reprises par un autre producteur" in html and "CONV N° 2994-13" in html

    # The Métropole sends the same grants: the declared rule prefers it, yet it takes over rows Tours
    # published: held as well, in one held version naming both producers.
    runs.store.drop("metropole", "subventions", VALID)
    assert runs.ingest("metropole").success
    assert runs.publish().success
    (held,) = runs.warehouse.holds("subventions")
    assert sorted(held["producers"]) == ["joue-les-tours", "metropole"] and held["version"] == 4
    assert _published(engine) == {"tours": 29, "luynes": 5}
    # Every row published still belongs to the producer that sent it.
    assert _rows(
        engine,
        "select count(*) from published.subventions p join harmonised.subventions h "
        "on h.producer = p.producer and h.batch_id = p.batch_id and h.source_row = p.source_row",
    ) == [(34,)]

    # The data team approves: the Métropole's rows win by the declared rule, recorded with why.
    approved = runs.warehouse.approve("subventions", 4)
    assert approved.status == "approved"
    assert _published(engine) == {"metropole": 29, "luynes": 5}
    reasons = _rows(
        engine,
        "select loser_producer, reason, count(*) from published.subventions_duplicates "
        f"where version = {approved.version} group by 1, 2 order by 1",
    )
    assert reasons == [
        ("joue-les-tours", "producteur préféré : metropole", 29),
        ("tours", "producteur préféré : metropole", 29),
    ]
    assert runs.warehouse.holds("subventions") == []
    # Approved batches are not held again at the next run.
    assert runs.publish().success
    assert runs.warehouse.holds("subventions") == []
    # And the reports no longer say « held »: the notes go once the hold is approved.
    for producer in ("tours", "joue-les-tours", "metropole"):
        assert _report(runs, producer)["holds"] == []
