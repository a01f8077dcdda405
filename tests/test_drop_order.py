"""Drops are processed in the order they were made, and a file sent before can be made current again."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import SHARED_SCHEMAS
from pipeline_runs import pipeline_runs

from resources.store import Store

VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"


def _scalar(engine, query: str):
    with engine.connect() as conn:
        return conn.execute(sa.text(query)).scalar()


@pytest.fixture()
def runs(home: Path, fresh_pg_url: str):
    runs = pipeline_runs(home, fresh_pg_url)
    engine = sa.create_engine(fresh_pg_url)
    yield runs, engine
    engine.dispose()
    runs.warehouse.dispose()


def _extract(tmp_path: Path, name: str, rows: int) -> Path:
    lines = VALID.read_text(encoding="utf-8").splitlines(keepends=True)
    path = tmp_path / name
    path.write_text("".join(lines[: rows + 1]), encoding="utf-8")
    return path


def test_sequence_is_monotonic_and_files_named_alike_sort_by_drop(home: Path, tmp_path: Path):
    store = Store(home=str(home))
    numbers = [store.next_sequence() for _ in range(5)]
    assert numbers == sorted(numbers) and len(set(numbers)) == 5
    # "b" dropped before "a", both in the same second and with the same mtime: drop order wins.
    b = store.drop("tours", "subventions", _extract(tmp_path, "b.csv", 2))
    a = store.drop("tours", "subventions", _extract(tmp_path, "a.csv", 3))
    os.utime(a, ns=(b.stat().st_mtime_ns, b.stat().st_mtime_ns))
    assert store.inbox_files("tours", "subventions") == [b, a]
    # A file copied into the folder by hand gets its number when first seen, after the others.
    manual = store.inbox("tours", "subventions") / "0-copie.csv"
    manual.write_bytes(b"x\n1\n")
    assert store.inbox_files("tours", "subventions") == [b, a, manual]
    assert store.drop_sequence(manual) > store.drop_sequence(a)


def test_last_dropped_wins_and_a_redrop_makes_old_bytes_current(runs, tmp_path: Path):
    runs, engine = runs
    big, small = _extract(tmp_path, "z-gros.csv", 20), _extract(tmp_path, "a-petit.csv", 15)
    # Dropped in this order within the same second: the small one is the producer's current file.
    runs.store.drop("tours", "subventions", big)
    runs.store.drop("tours", "subventions", small)
    assert runs.ingest("tours").success
    assert _scalar(engine, "select count(*) from harmonised.subventions") == 15
    assert _scalar(engine, "select count(*) from meta.batches") == 2

    # The commune goes back to its bigger file: same bytes as before, yet a new batch, current again.
    runs.store.drop("tours", "subventions", big)
    assert runs.ingest("tours").success
    assert _scalar(engine, "select count(*) from harmonised.subventions") == 20
    assert _scalar(engine, "select count(*) from meta.batches") == 3
    assert _scalar(engine, "select count(distinct sha256) from meta.batches") == 2
    assert runs.store.inbox_files("tours", "subventions") == []
    # Nothing pending any more: a run with no new drop makes no batch.
    assert runs.ingest("tours").success
    assert _scalar(engine, "select count(*) from meta.batches") == 3
    rows = _scalar(engine, "select array_agg(sequence order by sequence) from meta.batches")
    assert rows == sorted(rows) and len(set(rows)) == 3
