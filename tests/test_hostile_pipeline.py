"""Hostile files through the whole pipeline (read → harmonise → validate → warehouse) via Dagster.

Each file is dropped by its own producer and its partition materialised in one child process, whose
peak memory is measured: every file ends as a ``refused`` batch or as rows accounted for, the run
never crashes, and the tables are all still there.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import zipfile
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from conftest import REPO, SHARED_SCHEMAS

from resources.store import Store
from resources.warehouse import Warehouse

VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"
INJECTION = '"; DROP TABLE harmonised.subventions; --'
BILLION_LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [\n <!ENTITY lol "lol">\n'
    b' <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">\n'
    b' <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">\n]>\n'
)
MEMORY_CAP_MB = 1500


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _hostile_files(folder: Path) -> dict[str, tuple[Path, str]]:
    """producer → (file, expected outcome: a refusal reason, or ``loaded``)."""
    lines = VALID.read_text(encoding="utf-8").splitlines(keepends=True)
    long_line = folder / "ligne.csv"
    with long_line.open("wb") as fh:
        fh.write(b"a;b;")
        for _ in range(100):
            fh.write(b"x" * 1024 * 1024)
    wide = ";".join(f"c{i}" for i in range(10_000))
    injected = folder / "injection.csv"
    header = lines[0].rstrip("\n") + "," + '"' + INJECTION.replace('"', '""') + '"\n'
    injected.write_text(
        header + "".join(line.rstrip("\n") + ",'); DROP TABLE meta.batches; --\n" for line in lines[1:]),
        encoding="utf-8",
    )
    dirty = folder / "nul.csv"
    body = "".join(lines[1:]).encode()
    dirty.write_bytes(
        lines[0].encode()
        + body.replace(b"Fonctionnement", b"Fonction\x00nement", 3)
        + body[:200].replace(b"ANTIBES", b"ANTI\xed\xa0\x80BES")
        + b"\n"
    )
    ods_members = {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet"}
    return {
        "tours": (
            _zip(
                folder / "bombe.xlsx",
                {"xl/workbook.xml": b"<w/>", "xl/worksheets/sheet1.xml": b"\0" * 300_000_000},
            ),
            "zip-bomb",
        ),
        "fondettes": (
            _zip(folder / "bombe.ods", {**ods_members, "content.xml": b"\0" * 300_000_000}),
            "zip-bomb",
        ),
        "luynes": (_zip(folder / "bombe-shp.zip", {"a.shp": b"\0" * 300_000_000, "a.dbf": b"x"}), "zip-bomb"),
        "la-riche": (_zip(folder / "slip.zip", {"../../etc/evil.shp": b"x", "ok.dbf": b"y"}), "zip-slip"),
        "ballan-mire": (
            _zip(
                folder / "rires.xlsx",
                {"xl/workbook.xml": BILLION_LAUGHS + b"<w>&lol3;</w>", "[Content_Types].xml": b"<T/>"},
            ),
            "xml-bomb",
        ),
        "berthenay": (
            _zip(folder / "rires.ods", {**ods_members, "content.xml": BILLION_LAUGHS + b"<d>&lol3;</d>"}),
            "xml-bomb",
        ),
        "chanceaux-sur-choisille": (
            _write(folder / "rires.gml", BILLION_LAUGHS + b"<FeatureCollection>&lol3;</FeatureCollection>"),
            "xml-bomb",
        ),
        "druye": (long_line, "line-too-long"),
        "mettray": (_write(folder / "large.csv", f"{wide}\n{wide}\n".encode()), "too-many-columns"),
        "joue-les-tours": (injected, "loaded"),
        "saint-avertin": (dirty, "loaded"),
    }


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.timeout(150)
def test_hostile_files_end_refused_or_accounted_for(home: Path, fresh_pg_url: str, tmp_path: Path) -> None:
    Warehouse(url=fresh_pg_url).setup()
    store = Store(home=str(home))
    files = _hostile_files(tmp_path)
    for producer, (path, _) in files.items():
        store.drop(producer, "subventions", path)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    done = subprocess.run(
        [
            str(REPO / ".venv/bin/python"),
            str(REPO / "tests/fault_scripts/hostile_run.py"),
            str(home),
            fresh_pg_url,
            *files,
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=140,
    )
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert {o["producer"]: o["success"] for o in outcomes} == dict.fromkeys(files, True)
    assert max(peak_mb, before / 1024) < MEMORY_CAP_MB

    with psycopg.connect(
        sa.make_url(fresh_pg_url).set(drivername="postgresql").render_as_string(hide_password=False)
    ) as conn:
        batches = {
            r[0]: r[1:]
            for r in conn.execute(
                "SELECT producer, status, message, rows_read, rows_accepted, rows_quarantined "
                "FROM meta.batches"
            ).fetchall()
        }
        assert set(batches) == set(files)
        for producer, (path, expected) in files.items():
            status, message, read, accepted, quarantined = batches[producer]
            assert read == accepted + quarantined
            if expected == "loaded":
                assert status == "loaded" and read > 0, (producer, message)
            else:
                assert status == "refused" and path.name in message, (producer, message)
        # The hostile header never reached SQL: every table is there, with only the schema's columns.
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_schema || '.' || table_name FROM information_schema.tables "
                "WHERE table_schema IN ('harmonised', 'quarantine', 'meta')"
            ).fetchall()
        }
        assert {"harmonised.subventions", "quarantine.subventions", "meta.batches"} <= tables
        columns = [
            r[0]
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'harmonised' "
                "AND table_name = 'subventions'"
            ).fetchall()
        ]
        assert not any("DROP" in c for c in columns)
        rows = conn.execute(
            "SELECT count(*) FROM harmonised.subventions WHERE producer = 'joue-les-tours'"
        ).fetchone()[0]
        assert rows == batches["joue-les-tours"][3]
    report = json.loads(next(store.reports_dir.rglob("*joue-les-tours*.json")).read_text(encoding="utf-8"))
    assert any(s["rule"] == "extra-column" and s["column"] == INJECTION for s in report["structure"])
