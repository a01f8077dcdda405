"""Consolidation, versions, history and held publications in the warehouse, against real PostGIS."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import psycopg
import pytest

from pipelines.docs import write_data_dictionary
from quality.schema import load_schema_file
from resources.warehouse import ANALYST_ROLE, BatchRecord, Consolidation, Warehouse

DESCRIPTOR = {
    "name": "lieux-test",
    "title": "Lieux du territoire",
    "description": "Équipements publics <déclarés> par les communes & la Métropole",
    "version": "1.0.0",
    "fields": [
        {"name": "uid", "type": "string", "title": "Identifiant", "constraints": {"required": True}},
        {"name": "nom", "type": "string", "title": "Nom"},
        {"name": "categorie", "type": "string", "constraints": {"enum": ["piscine", "gymnase"]}},
        {"name": "coordonnees", "type": "geopoint", "title": "Position", "description": "WGS 84"},
    ],
    "primaryKey": ["uid"],
}
DATASET = "lieux"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture()
def schema(tmp_path: Path):
    path = tmp_path / "lieux-test.json"
    path.write_text(json.dumps(DESCRIPTOR), encoding="utf-8")
    return load_schema_file(path)


@pytest.fixture()
def warehouse(fresh_pg_url: str, schema):
    wh = Warehouse(url=fresh_pg_url)
    wh.setup()
    wh.ensure_dataset(DATASET, schema)
    yield wh
    wh.dispose()


def places(producer: str, rows: list[tuple[str, str, str, float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "uid": [r[0] for r in rows],
            "nom": [r[1] for r in rows],
            "categorie": [r[2] for r in rows],
            "coordonnees": [f"SRID=4326;POINT({r[3]} {r[4]})" for r in rows],
        }
    )
    frame.index = range(2, len(frame) + 2)
    return frame


def load(
    wh: Warehouse,
    schema,
    producer: str,
    frame: pd.DataFrame,
    batch_id: str,
    received: datetime,
    sequence: int | None = None,
) -> None:
    record = BatchRecord(
        batch_id=batch_id,
        producer=producer,
        dataset=DATASET,
        file_name=f"{producer}.csv",
        sha256=f"sha-{batch_id}",
        received_at=received,
        rows_read=len(frame),
        rows_accepted=len(frame),
        sequence=sequence,
    )
    empty = pd.DataFrame({"source_row": pd.Series([], dtype="int64"), "cells": [], "errors": []})
    wh.replace_partition(schema, DATASET, record, frame, empty)


def publish(wh: Warehouse, schema, consolidation: Consolidation, share: float = 0.5):
    wh.build_candidate(DATASET, schema, consolidation)
    return wh.publish_candidate(DATASET, schema, consolidation, max_removed_share=share)


def query(wh: Warehouse, text: str, params=None) -> list[tuple]:
    with wh.transaction() as conn:
        return conn.execute(text, params).fetchall()


def test_key_dedup_across_producers_keeps_lineage_and_records_why(warehouse, schema):
    tours = places(
        "tours", [("P1", "Piscine du Lac", "piscine", 0.68, 47.39), ("G1", "Gymnase", "gymnase", 0.7, 47.4)]
    )
    metro = places(
        "metropole",
        [("P1", "Centre aquatique du Lac", "piscine", 0.68, 47.39), ("P9", "Bassin", "piscine", 0.6, 47.3)],
    )
    load(warehouse, schema, "tours", tours, "b-tours", T0)
    load(warehouse, schema, "metropole", metro, "b-metro", T0 - timedelta(days=3))
    preferred = Consolidation.from_registry({"prefer": ["metropole"]}, schema)
    assert preferred.key == ("uid",)  # the schema's primaryKey by default

    first = publish(warehouse, schema, preferred)
    assert (first.status, first.version, first.rows) == ("published", 1, 3)
    published = warehouse.read_table("published", DATASET)
    assert sorted(zip(published["producer"], published["uid"], strict=True)) == [
        ("metropole", "P1"),
        ("metropole", "P9"),
        ("tours", "G1"),
    ]
    assert set(published["batch_id"]) == {"b-tours", "b-metro"} and published["source_row"].notna().all()
    dup = query(warehouse, "SELECT * FROM published.lieux_duplicates")
    assert dup == [
        (
            1,
            "metropole",
            "b-metro",
            2,
            "tours",
            "b-tours",
            2,
            preferred.rule,
            "producteur préféré : metropole",
        )
    ]

    # Latest batch wins when no producer is preferred: tours' batch is the more recent one. Tours
    # would take over P1, which the Métropole published: a takeover waits for the data team.
    latest = Consolidation.from_registry({"key": ["uid"], "prefer": "latest"}, schema)
    held = publish(warehouse, schema, latest)
    assert (held.status, held.version, held.held_for) == ("held", 2, ["tours"])
    (hold,) = held.holds
    assert hold["kind"] == "takeover" and hold["batch_id"] == "b-tours"
    assert [(r["from"], r["key"]) for r in hold["takeover"]] == [("metropole", {"uid": "P1"})]
    assert "metropole" in hold["reason"] and "tours" in hold["reason"]
    assert query(warehouse, "SELECT producer FROM published.lieux WHERE uid = 'P1'") == [("metropole",)]
    second = warehouse.approve(DATASET, 2)
    assert second.status == "approved" and second.version == 2
    winner = query(warehouse, "SELECT producer, nom FROM published.lieux WHERE uid = 'P1'")
    assert winner == [("tours", "Piscine du Lac")]
    assert {d["producer"]: (d["added"], d["removed"]) for d in second.diff} == {
        "metropole": (0, 1),
        "tours": (1, 0),
    }
    reason = query(warehouse, "SELECT reason FROM published.lieux_duplicates WHERE version = 2")
    assert reason == [("lot le plus récent : b-tours",)]


def test_latest_means_the_last_dropped_whatever_order_the_runs_archived_them(warehouse, schema):
    # Tours dropped first (sequence 1) but its run archived it last, as a worker of the distributed
    # engine may: the Métropole's later drop is still the latest.
    tours = places("tours", [("P1", "Piscine du Lac", "piscine", 0.68, 47.39)])
    metro = places("metropole", [("P1", "Centre aquatique du Lac", "piscine", 0.68, 47.39)])
    load(warehouse, schema, "metropole", metro, "b-metro", T0, sequence=2)
    load(warehouse, schema, "tours", tours, "b-tours", T0 + timedelta(minutes=5), sequence=1)
    latest = Consolidation.from_registry({"prefer": "latest"}, schema)
    first = publish(warehouse, schema, latest)
    assert first.status == "published"
    assert query(warehouse, "SELECT producer FROM published.lieux WHERE uid = 'P1'") == [("metropole",)]
    reason = query(warehouse, "SELECT reason FROM published.lieux_duplicates")
    assert reason == [("lot le plus récent : b-metro",)]


def test_distance_dedup_matches_points_within_the_radius(warehouse, schema):
    # Same category, 20 m apart (0.00025° of longitude at 47.4° N ≈ 19 m): one place. 300 m: two.
    load(
        warehouse,
        schema,
        "tours",
        places(
            "tours", [("T-1", "Piscine", "piscine", 0.68, 47.39), ("T-2", "Gymnase", "gymnase", 0.70, 47.40)]
        ),
        "b1",
        T0,
    )
    metro = places(
        "metropole",
        [("M-7", "Piscine", "piscine", 0.68025, 47.39), ("M-8", "Gymnase", "gymnase", 0.704, 47.40)],
    )
    load(warehouse, schema, "metropole", metro, "b2", T0)
    rule = Consolidation.from_registry(
        {"key": ["categorie"], "within_m": 50, "prefer": ["metropole", "tours"]}, schema
    )
    assert rule.gate_key is None and rule.diff_key == ("source_row",)
    result = publish(warehouse, schema, rule)
    assert result.rows == 3
    assert query(warehouse, "SELECT uid FROM published.lieux ORDER BY uid") == [("M-7",), ("M-8",), ("T-2",)]
    dup = query(
        warehouse,
        "SELECT winner_producer, loser_producer, loser_source_row, rule FROM published.lieux_duplicates",
    )
    assert dup == [
        (
            "metropole",
            "tours",
            2,
            "clé (categorie) identique et « coordonnees » à moins de 50 m ; "
            "gagnant : producteur préféré dans l'ordre metropole > tours, sinon lot le plus récent",
        )
    ]


def test_versions_history_as_of_and_unchanged_republication(warehouse, schema):
    rule = Consolidation.from_registry({}, schema)
    load(
        warehouse,
        schema,
        "tours",
        places("tours", [("A", "Un", "piscine", 0.6, 47.3), ("B", "Deux", "gymnase", 0.7, 47.4)]),
        "b1",
        T0,
    )
    v1 = publish(warehouse, schema, rule)
    again = publish(warehouse, schema, rule)
    assert (again.status, again.version) == ("unchanged", 1)
    assert len(warehouse.publications(DATASET)) == 1

    load(
        warehouse,
        schema,
        "tours",
        places("tours", [("A", "Un bis", "piscine", 0.6, 47.3), ("C", "Trois", "gymnase", 0.7, 47.4)]),
        "b2",
        T0,
    )
    v2 = publish(warehouse, schema, rule)
    assert v2.version == 2 and v2.diff == [
        {"producer": "tours", "current": 2, "candidate": 2, "added": 1, "removed": 1, "changed": 1}
    ]
    versions = warehouse.publications(DATASET)
    assert list(versions["status"]) == ["superseded", "published"] and list(versions["rows"]) == [2, 2]
    assert versions["diff"].iloc[1]["producers"][0]["changed"] == 1

    at_v1 = warehouse.read_as_of(DATASET, v1.published_at + (v2.published_at - v1.published_at) / 2)
    assert sorted(zip(at_v1["uid"], at_v1["nom"], strict=True)) == [("A", "Un"), ("B", "Deux")]
    now = warehouse.read_as_of(DATASET, v2.published_at)
    assert sorted(zip(now["uid"], now["nom"], strict=True)) == [("A", "Un bis"), ("C", "Trois")]
    assert warehouse.read_as_of(DATASET, v1.published_at - timedelta(seconds=1)).empty
    # The as-of query analysts read in the table's COMMENT gives the same rows.
    comment = query(warehouse, "SELECT obj_description('published.lieux_history'::regclass)")[0][0]
    assert "valid_from <= T AND (valid_to IS NULL OR valid_to > T)" in comment


def test_truncated_redrop_is_held_until_approved(warehouse, schema):
    rule = Consolidation.from_registry({}, schema)
    full = [(f"U{i}", f"Lieu {i}", "gymnase", 0.6 + i / 1000, 47.3) for i in range(20)]
    load(warehouse, schema, "tours", places("tours", full), "b1", T0)
    load(
        warehouse,
        schema,
        "metropole",
        places("metropole", [("M1", "Piscine", "piscine", 0.5, 47.2)]),
        "m1",
        T0,
    )
    assert publish(warehouse, schema, rule).version == 1

    load(warehouse, schema, "tours", places("tours", full[:2]), "b2", T0)  # a truncated export: 90 % lost
    held = publish(warehouse, schema, rule)
    assert (held.status, held.version, held.held_for) == ("held", 2, ["tours"])
    assert len(warehouse.read_table("published", DATASET)) == 21  # the previous version stays
    assert warehouse.current_rows(DATASET) == 21
    assert publish(warehouse, schema, rule).status == "held"  # re-running does not pile up versions
    assert list(warehouse.publications(DATASET)["status"]) == ["published", "held"]

    with pytest.raises(ValueError, match="n'est pas en attente"):
        warehouse.approve(DATASET, 1)
    approved = warehouse.approve(DATASET, 2)
    assert (approved.status, approved.rows) == ("approved", 3)
    assert len(warehouse.read_table("published", DATASET)) == 3
    assert list(warehouse.publications(DATASET)["status"]) == ["superseded", "approved"]
    assert len(warehouse.read_as_of(DATASET, approved.published_at)) == 3
    assert publish(warehouse, schema, rule).status == "unchanged"
    # A looser threshold publishes the same kind of drop directly.
    load(warehouse, schema, "tours", places("tours", full), "b3", T0)
    assert publish(warehouse, schema, rule).status == "published"
    load(warehouse, schema, "tours", places("tours", full[:2]), "b4", T0)
    assert publish(warehouse, schema, rule, share=0.95).status == "published"


def test_analyst_reads_published_history_and_duplicates_only_and_everything_is_commented(
    warehouse, schema, tmp_path
):
    load(warehouse, schema, "tours", places("tours", [("A", "Un <b>", "piscine", 0.6, 47.3)]), "b1", T0)
    publish(warehouse, schema, Consolidation.from_registry({}, schema))
    for table in ("published.lieux", "published.lieux_history", "published.lieux_duplicates"):
        with warehouse.transaction() as conn:
            conn.execute("RESET ROLE")
            conn.execute(f"SET ROLE {ANALYST_ROLE}")
            conn.execute(f"SELECT * FROM {table}").fetchall()
    for table in ("meta.publications", "meta.candidate_lieux", "harmonised.lieux"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with warehouse.transaction() as conn:
                conn.execute("RESET ROLE")
                conn.execute(f"SET ROLE {ANALYST_ROLE}")
                conn.execute(f"SELECT * FROM {table}")
    catalog = warehouse.published_catalog()
    assert [t["name"] for t in catalog] == [
        "published.lieux",
        "published.lieux_duplicates",
        "published.lieux_history",
    ]
    uncommented = [(t["name"], c["name"]) for t in catalog for c in t["columns"] if not c["comment"]]
    assert all(t["comment"] for t in catalog) and uncommented == []

    page = write_data_dictionary(warehouse, tmp_path / "dictionnaire.html")
    html = page.read_text(encoding="utf-8")
    assert "published.lieux_history" in html and "coordonnees" in html and "geometry(Point,4326)" in html
    assert "&lt;déclarés&gt;" in html and "<déclarés>" not in html  # comments are escaped
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")  # self-contained


def test_consolidation_rules_are_checked(schema):
    with pytest.raises(ValueError, match="absents du schéma"):
        Consolidation.from_registry({"key": ["siret"]}, schema)
    with pytest.raises(ValueError, match="clés inconnues"):
        Consolidation.from_registry({"winner": "latest"}, schema)
    distance = Consolidation.from_registry({"within_m": 50}, schema)
    assert distance.key == () and distance.geometry == "coordonnees"
