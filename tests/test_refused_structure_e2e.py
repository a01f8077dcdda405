"""A file that is not this schema is refused whole, through the real pipeline and PostgreSQL: the batch
is `refused` (not 100 % quarantined), the producer's previous rows stay harmonised and published, and
the report lists the missing required columns, the columns found and the closest header to each."""

from __future__ import annotations

import json
import shutil

import pytest
import sqlalchemy as sa
from conftest import REFERENCE, SHARED_SCHEMAS
from pipeline_runs import pipeline_runs

VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"
# A real Département's free layout (7 columns with French labels, 3 title lines): not SCDL.
SARTHE = REFERENCE / "real-world" / "scdl-subventions" / "SUBV_DEP72_Sarthe_progos_2018.xls"

pytestmark = pytest.mark.slow


def _count(url: str, query: str) -> list[tuple]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.text(query))]
    finally:
        engine.dispose()


def test_file_missing_required_columns_is_refused_and_the_previous_version_stays(home, fresh_pg_url):
    inbox = home / "inbox" / "tours" / "subventions"
    inbox.mkdir(parents=True)
    shutil.copy(VALID, inbox / "subventions-2024.csv")
    runs = pipeline_runs(home, fresh_pg_url)
    assert runs.ingest("tours").success
    runs.publish()
    [(before,)] = _count(fresh_pg_url, "SELECT count(*) FROM published.subventions WHERE producer = 'tours'")
    assert before > 0

    shutil.copy(SARTHE, inbox / SARTHE.name)
    assert runs.ingest("tours").success
    status = _count(
        fresh_pg_url,
        "SELECT file_name, status, rows_read, rows_accepted, rows_quarantined, message "
        "FROM meta.batches WHERE producer = 'tours' ORDER BY received_at",
    )
    assert [s[:5] for s in status] == [
        ("subventions-2024.csv", "loaded", before, before, 0),
        (SARTHE.name, "refused", 0, 0, 0),
    ]
    assert "objet" in status[1][5] and SARTHE.name in status[1][5]
    assert _count(fresh_pg_url, "SELECT count(*) FROM harmonised.subventions WHERE producer = 'tours'") == [
        (before,)
    ]
    assert _count(fresh_pg_url, "SELECT count(*) FROM quarantine.subventions WHERE producer = 'tours'") == [
        (0,)
    ]
    runs.publish()
    assert _count(fresh_pg_url, "SELECT count(*) FROM published.subventions WHERE producer = 'tours'") == [
        (before,)
    ]

    [report_path] = [
        p
        for p in (home / "reports" / "tours" / "subventions").glob("*.json")
        if SARTHE.name in p.read_text(encoding="utf-8")
    ]
    report = json.loads(report_path.read_text(encoding="utf-8"))
    refusal = report["refusal"]
    assert report["status"] == "refused" and report["rows_in_file"] == 24
    assert {"nomAttribuant", "idAttribuant", "objet", "notificationUE"} <= set(refusal["missing"])
    assert {"Code SIRET", "Montant", "Bénéficiaire"} <= set(refusal["found"])
    closest = {c["field"]: c["closest"] for c in refusal["closest"]}
    assert set(closest) == set(refusal["missing"])
    # Columns already taken (« Montant » → montant, « Bénéficiaire » → nomBeneficiaire) are not offered.
    assert not set(closest.values()) & {"Montant", "Bénéficiaire"}
    html = report_path.with_suffix(".html").read_text(encoding="utf-8")
    assert 'data-refusal="missing"' in html and "Code SIRET" in html
