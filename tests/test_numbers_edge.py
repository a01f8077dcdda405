"""NaN, ±Infinity, an overflowing number and an integer beyond bigint: quarantined with a reason, never
accepted by the validator and then stored as NULL or ∞ (real run, real PostgreSQL)."""

from __future__ import annotations

import csv
import io

import sqlalchemy as sa
from conftest import SHARED_SCHEMAS
from pipeline_runs import pipeline_runs

EXAMPLE = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"
AMOUNTS = ["NaN", "Infinity", "-Infinity", "1e400", "inf", "12.5"]


def test_non_finite_amounts_are_quarantined_and_finite_ones_stored(tmp_path, fresh_pg_url):
    rows = list(csv.DictReader(EXAMPLE.open(encoding="utf-8")))
    header = list(rows[0])
    body = [dict(rows[0], montant=amount) for amount in AMOUNTS]
    out = io.StringIO()
    writer = csv.DictWriter(out, header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(body)
    path = tmp_path / "montants.csv"
    path.write_text(out.getvalue(), encoding="utf-8")

    runs = pipeline_runs(tmp_path / "home", fresh_pg_url)
    runs.store.drop("tours", "subventions", path)
    assert runs.ingest("tours").success
    engine = sa.create_engine(fresh_pg_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT source_row, montant FROM harmonised.subventions")).all()
        held = conn.execute(
            sa.text("SELECT source_row, errors FROM quarantine.subventions ORDER BY source_row")
        ).all()
    engine.dispose()
    assert [(r, float(m)) for r, m in stored] == [(7, 12.5)]
    assert [r for r, _ in held] == [2, 3, 4, 5, 6]
    for _, errors in held:
        assert {(e["field"], e["rule"]) for e in errors} == {("montant", "type")}
        assert all("nombre" in e["message"] for e in errors)
