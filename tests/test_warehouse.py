"""The warehouse against a real PostgreSQL/PostGIS: DDL, partition replacement, rollback, locks, roles."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import psycopg
import pytest
from conftest import SHARED_SCHEMAS

from quality.schema import load_schema, load_schema_file
from quality.url_mask import mask_url
from resources.warehouse import (
    ANALYST_ROLE,
    OWNER_ROLE,
    BatchRecord,
    Warehouse,
    column_type,
    table_name,
)

SCHEMA = load_schema("scdl-subventions")
EXAMPLE = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"


def typed_example() -> pd.DataFrame:
    """The official valid example, typed as validate_frame would type it (index = spreadsheet row)."""
    raw = pd.read_csv(EXAMPLE, dtype=str, keep_default_na=False)
    raw.index = range(2, len(raw) + 2)
    typed = raw.replace("", None)
    for name in ("montant", "pourcentageSubvention"):
        typed[name] = pd.to_numeric(raw[name].replace("", None)).astype("float64")
    typed["notificationUE"] = raw["notificationUE"].map({"oui": True, "non": False}).astype("boolean")
    return typed


def batch(batch_id: str, producer: str, accepted: int, quarantined: int = 0, **extra) -> BatchRecord:
    return BatchRecord(
        batch_id=batch_id,
        producer=producer,
        dataset="subventions",
        file_name=f"{producer}.csv",
        sha256=extra.pop("sha256", f"sha-{batch_id}"),
        received_at=extra.pop("received_at", datetime.now(UTC)),
        rows_read=accepted + quarantined,
        rows_accepted=accepted,
        rows_quarantined=quarantined,
        schema_version="2.1.1",
        **extra,
    )


def no_quarantine() -> pd.DataFrame:
    return pd.DataFrame({"source_row": pd.Series([], dtype="int64"), "cells": [], "errors": []})


def one_quarantined(row: int = 9) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "source_row": [row],
            "cells": [{"montant": "beaucoup", "objet": "Fête d'été"}],
            "errors": [
                [{"field": "montant", "rule": "type", "value": "beaucoup", "message": "pas un nombre"}]
            ],
        }
    )


@pytest.fixture()
def warehouse(fresh_pg_url: str):
    wh = Warehouse(url=fresh_pg_url)
    wh.setup()
    wh.ensure_dataset("subventions", SCHEMA)
    yield wh
    wh.dispose()


def scalar(wh: Warehouse, query: str, params=None):
    with wh.transaction() as conn:
        return conn.execute(query, params).fetchone()[0]


def test_table_name_validation():
    assert table_name("lieux-de-culte") == "lieux_de_culte"
    for bad in ("Subventions", "1abc", "a;drop", "a b", "", "x" * 64):
        with pytest.raises(ValueError):
            table_name(bad)


def test_ddl_is_idempotent_typed_and_commented(warehouse: Warehouse):
    warehouse.setup()
    warehouse.ensure_dataset("subventions", SCHEMA)
    with warehouse.transaction() as conn:
        types = dict(
            conn.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = 'harmonised' AND table_name = 'subventions'"
            ).fetchall()
        )
        assert types["montant"] == "numeric"
        assert types["dateConvention"] == "date"
        assert types["notificationUE"] == "boolean"
        assert types["producer"] == "text" and types["source_row"] == "integer"
        table_comment = conn.execute("SELECT obj_description('published.subventions'::regclass)").fetchone()[
            0
        ]
        assert "Subventions" in table_comment
        column_comments = dict(
            conn.execute(
                "SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
                "WHERE a.attrelid = 'harmonised.subventions'::regclass AND a.attnum > 0"
            ).fetchall()
        )
        field = next(f for f in SCHEMA.fields if f.name == "idAttribuant")
        assert field.description[:30] in column_comments["idAttribuant"]
        assert all(column_comments[name] for name in SCHEMA.field_names)
        owners = conn.execute(
            "SELECT DISTINCT tableowner FROM pg_tables WHERE schemaname IN "
            "('harmonised', 'quarantine', 'published', 'meta')"
        ).fetchall()
        assert owners == [(OWNER_ROLE,)]


def test_column_types_cover_table_schema_types(fresh_pg_url: str, tmp_path: Path):
    types = {
        "Nom Mixte": "string",
        "nb": "integer",
        "taux": "number",
        "ok": "boolean",
        "jour": "date",
        "quand": "datetime",
        "heure": "time",
        "annee": "year",
        "mois": "yearmonth",
        "duree": "duration",
        "position": "geopoint",
        "forme": "geojson",
        "liste": "array",
    }
    descriptor = {
        "name": "mixte",
        "title": "Mixte",
        "description": "Tous les types",
        "version": "1.0",
        "fields": [{"name": name, "type": kind, "title": name.title()} for name, kind in types.items()],
    }
    (tmp_path / "schema.json").write_text(json.dumps(descriptor))
    schema = load_schema_file(tmp_path / "schema.json", "mixte")
    assert column_type(schema.fields[10]) == "geometry(Point, 4326)"
    wh = Warehouse(url=fresh_pg_url)
    wh.setup()
    wh.ensure_dataset("mixte", schema)
    typed = pd.DataFrame(
        {
            "Nom Mixte": ['a, "b"\nc', ""],
            "nb": pd.array([3, None], dtype="Int64"),
            "taux": [0.5, float("nan")],
            "ok": pd.array([True, None], dtype="boolean"),
            "jour": ["2024-02-29", ""],
            "quand": ["2024-02-29T10:00:00+01:00", None],
            "heure": ["10:30:00", None],
            "annee": pd.array([2024, None], dtype="Int64"),
            "mois": ["2024-02", None],
            "duree": ["P1DT2H", None],
            "position": ["SRID=4326;POINT(0.69 47.39)", None],
            "forme": ['{"type": "Point", "coordinates": [0.7, 47.4]}', "SRID=4326;POINT(1 2)"],
            "liste": ['["a", "b"]', None],
        },
        index=[2, 3],
    )
    wh.replace_partition(schema, "mixte", batch("m1", "tours", 2), typed, no_quarantine())
    wh.ensure_dataset("mixte", schema)
    back = wh.read_table("harmonised", "mixte")
    assert back.loc[0, "Nom Mixte"] == 'a, "b"\nc'
    assert back.loc[0, "position"] == "SRID=4326;POINT(0.69 47.39)"
    assert back.loc[0, "forme"] == "SRID=4326;POINT(0.7 47.4)"
    assert back.loc[1, "forme"] == "SRID=4326;POINT(1 2)"
    assert bool(back.loc[0, "ok"]) is True and back.loc[0, "nb"] == 3 and back.loc[0, "liste"] == ["a", "b"]
    assert back.loc[1, ["Nom Mixte", "nb", "taux", "ok", "jour", "position"]].isna().all()
    assert list(back["source_row"]) == [2, 3]
    with wh.transaction() as conn:
        indexes = {
            r[0] for r in conn.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = 'harmonised'")
        }
    assert any('gist ("position")' in i or "gist (position)" in i for i in indexes)
    wh.dispose()


def test_replace_partition_replaces_only_that_producer(warehouse: Warehouse):
    typed = typed_example()
    warehouse.replace_partition(
        SCHEMA, "subventions", batch("t1", "tours", len(typed), 1), typed, one_quarantined()
    )
    warehouse.replace_partition(
        SCHEMA, "subventions", batch("j1", "joue-les-tours", 2), typed.iloc[:2], no_quarantine()
    )
    smaller = typed.iloc[1:3]
    warehouse.replace_partition(SCHEMA, "subventions", batch("t2", "tours", 2), smaller, no_quarantine())

    rows = warehouse.read_table("harmonised", "subventions")
    tours = rows[rows["producer"] == "tours"]
    assert list(tours["source_row"]) == [3, 4] and set(tours["batch_id"]) == {"t2"}
    assert (rows["producer"] == "joue-les-tours").sum() == 2
    first = rows[(rows["producer"] == "joue-les-tours")].iloc[0]
    assert first["montant"] == pytest.approx(99786.57) and bool(first["notificationUE"]) is False
    assert str(first["dateConvention"]) == "2015-07-07"
    assert warehouse.read_table("quarantine", "subventions").empty  # tours' old quarantine went with it

    assert warehouse.publish("subventions", SCHEMA) == 4
    published = warehouse.read_table("published", "subventions")
    assert sorted(published["batch_id"]) == ["j1", "j1", "t2", "t2"]
    assert warehouse.publish("subventions", SCHEMA) == 4  # rebuilt, not appended

    meta = warehouse.batches(dataset="subventions")
    assert list(meta["batch_id"]) == ["t1", "j1", "t2"]
    assert (meta["rows_read"] == meta["rows_accepted"] + meta["rows_quarantined"]).all()
    assert list(warehouse.batches(producer="tours")["batch_id"]) == ["t1", "t2"]
    latest = warehouse.latest_batches().set_index("producer")["batch_id"].to_dict()
    assert latest == {"joue-les-tours": "j1", "tours": "t2"}
    assert warehouse.batch_seen("subventions", "tours", "sha-t1")
    assert not warehouse.batch_seen("subventions", "joue-les-tours", "sha-t1")


def test_quarantine_keeps_cells_and_errors(warehouse: Warehouse):
    typed = typed_example().iloc[:1]
    warehouse.replace_partition(SCHEMA, "subventions", batch("t1", "tours", 1, 1), typed, one_quarantined(7))
    q = warehouse.read_table("quarantine", "subventions")
    assert q.loc[0, "source_row"] == 7 and q.loc[0, "cells"]["objet"] == "Fête d'été"
    assert q.loc[0, "errors"] == [
        {"field": "montant", "rule": "type", "value": "beaucoup", "message": "pas un nombre"}
    ]


def test_failed_load_leaves_previous_version(warehouse: Warehouse):
    typed = typed_example()
    warehouse.replace_partition(
        SCHEMA, "subventions", batch("t1", "tours", len(typed)), typed, no_quarantine()
    )
    bad_date = typed.copy()
    bad_date.iloc[-1, bad_date.columns.get_loc("dateConvention")] = "2024-02-30"
    with pytest.raises(psycopg.errors.DatetimeFieldOverflow, match="dateConvention"):
        warehouse.replace_partition(
            SCHEMA, "subventions", batch("t2", "tours", len(typed), 1), bad_date, one_quarantined()
        )
    mixed = typed.copy()  # an object column mixing numbers and text: the to_csv path
    mixed["montant"] = mixed["montant"].astype(object)
    mixed.iloc[-1, mixed.columns.get_loc("montant")] = "beaucoup"
    with pytest.raises(psycopg.errors.InvalidTextRepresentation, match="montant"):
        warehouse.replace_partition(
            SCHEMA, "subventions", batch("t3", "tours", len(typed)), mixed, no_quarantine()
        )
    rows = warehouse.read_table("harmonised", "subventions")
    assert len(rows) == len(typed) and set(rows["batch_id"]) == {"t1"}
    assert list(warehouse.batches()["batch_id"]) == ["t1"]
    assert warehouse.read_table("quarantine", "subventions").empty


def test_conservation_is_enforced(warehouse: Warehouse):
    refused = batch("r1", "tours", 0, status="refused", message="fichier vide")
    warehouse.record_refused(refused)
    assert warehouse.batches().loc[0, "status"] == "refused"
    lying = batch("r2", "tours", 0, status="refused")
    lying.rows_read = 5
    with pytest.raises(psycopg.errors.CheckViolation, match="batches_rows_conserved"):
        warehouse.record_refused(lying)
    with pytest.raises(ValueError, match="annonce"):
        warehouse.replace_partition(
            SCHEMA, "subventions", batch("t1", "tours", 3), typed_example(), no_quarantine()
        )


def test_concurrent_loads_of_one_partition_do_not_interleave(warehouse: Warehouse):
    typed = typed_example()
    big = pd.concat([typed] * 300, ignore_index=True)
    big.index = range(2, len(big) + 2)
    start = threading.Barrier(2)
    errors: list[BaseException] = []

    def load(batch_id: str) -> None:
        wh = Warehouse(url=warehouse.url)
        try:
            start.wait()
            wh.replace_partition(
                SCHEMA, "subventions", batch(batch_id, "tours", len(big)), big, no_quarantine()
            )
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            wh.dispose()

    threads = [threading.Thread(target=load, args=(name,)) for name in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    rows = warehouse.read_table("harmonised", "subventions")
    assert len(rows) == len(big) and rows["batch_id"].nunique() == 1
    assert rows["source_row"].is_unique


def test_roles(warehouse: Warehouse):
    typed = typed_example()
    warehouse.replace_partition(
        SCHEMA, "subventions", batch("t1", "tours", len(typed)), typed, no_quarantine()
    )
    warehouse.publish("subventions", SCHEMA)
    with warehouse.transaction() as conn:
        assert conn.execute("SELECT current_user").fetchone()[0] == OWNER_ROLE
        assert conn.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", (OWNER_ROLE,)).fetchone() == (
            False,
        )
        conn.execute("RESET ROLE")
        conn.execute(f"SET ROLE {ANALYST_ROLE}")
        assert conn.execute("SELECT count(*) FROM published.subventions").fetchone()[0] == len(typed)
    for table in ("harmonised.subventions", "quarantine.subventions", "meta.batches"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with warehouse.transaction() as conn:
                conn.execute("RESET ROLE")
                conn.execute(f"SET ROLE {ANALYST_ROLE}")
                conn.execute(f"SELECT * FROM {table}")
    with pytest.raises(psycopg.errors.InsufficientPrivilege):
        with warehouse.transaction() as conn:
            conn.execute("RESET ROLE")
            conn.execute(f"SET ROLE {ANALYST_ROLE}")
            conn.execute("DELETE FROM published.subventions")


def test_password_never_shown():
    url = "postgresql+psycopg://platform:s3cr3t-Pw@127.0.0.1:1/territoire"
    wh = Warehouse(url=url)
    assert "s3cr3t" not in repr(wh) and "s3cr3t" not in str(wh)
    assert "s3cr3t" not in wh.masked_url and "***" in mask_url(url)
    with pytest.raises(ConnectionError) as caught:
        wh.setup()
    assert "s3cr3t" not in str(caught.value) and "127.0.0.1" in str(caught.value)


def test_loads_what_validate_frame_produces(warehouse: Warehouse):
    """The official invalid example through the real validator: accepted rows typed, the rest quarantined."""
    from quality.validate import validate_frame

    raw = pd.read_csv(
        SHARED_SCHEMAS / "scdl-subventions" / "exemple-invalide-erreurs-cellules.csv",
        dtype=str,
        keep_default_na=False,
    )
    raw.index = range(2, len(raw) + 2)
    validation = validate_frame(raw, SCHEMA)
    accepted = validation.typed.drop(index=validation.invalid_index)
    errors = validation.errors.groupby("row")[["field", "rule", "value", "message"]]
    rejected = raw.loc[list(validation.invalid_index)]
    quarantined = pd.DataFrame(
        {
            "source_row": rejected.index,
            "cells": [row.to_dict() for _, row in rejected.iterrows()],
            "errors": [errors.get_group(r).to_dict("records") for r in rejected.index],
        }
    )
    record = batch("v1", "poitiers", len(accepted), len(quarantined))
    warehouse.replace_partition(SCHEMA, "subventions", record, accepted, quarantined)

    loaded = warehouse.read_table("harmonised", "subventions")
    assert len(loaded) == len(accepted) and set(loaded["source_row"]) == set(accepted.index)
    kept = warehouse.read_table("quarantine", "subventions")
    assert sorted(kept["source_row"]) == sorted(validation.invalid_index)
    assert sum(len(e) for e in kept["errors"]) == len(validation.errors)
    meta = warehouse.batches().iloc[0]
    assert meta["rows_read"] == len(raw) == meta["rows_accepted"] + meta["rows_quarantined"]


def test_schema_evolution_and_empty_accepted(warehouse: Warehouse, tmp_path: Path):
    descriptor = json.loads(SCHEMA.path.read_text(encoding="utf-8"))
    descriptor["version"] = "9.9.9"
    descriptor["fields"].append({"name": "codeInsee", "type": "string", "title": "Code INSEE"})
    (tmp_path / "schema.json").write_text(json.dumps(descriptor))
    newer = load_schema_file(tmp_path / "schema.json", "scdl-subventions")
    warehouse.ensure_dataset("subventions", newer)
    with warehouse.transaction() as conn:
        comment = conn.execute(
            "SELECT col_description('published.subventions'::regclass, attnum) FROM pg_attribute "
            "WHERE attrelid = 'published.subventions'::regclass AND attname = 'codeInsee'"
        ).fetchone()
    assert comment == ("Code INSEE",)

    everything_rejected = typed_example().iloc[:0].assign(codeInsee=None)
    record = batch("e1", "tours", 0, 1)
    warehouse.replace_partition(newer, "subventions", record, everything_rejected, one_quarantined())
    assert warehouse.read_table("harmonised", "subventions").empty
    assert len(warehouse.read_table("quarantine", "subventions")) == 1
