"""The warehouse and the files never disagree for long: every run first reconciles.

A deleted published file, a lost batch report, a disk full under ``publish/`` (a real tmpfs) and a
PostgreSQL stopped between the publication's commit and the files: the next run rewrites what is
missing from the warehouse and the archive, and nothing is lost.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import tempfile
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from conftest import SHARED_SCHEMAS
from pipeline_runs import PipelineRuns
from rich.console import Console
from typer.testing import CliRunner

from assets.keys import asset_key
from pipelines.cli import app
from pipelines.runner import run_pending
from resources import postgres_server
from resources.registry.load import load_registry
from resources.store import Store, sha256_file
from resources.warehouse import Warehouse

runner = CliRunner()
VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"


def _count(url: str, query: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        value = conn.execute(sa.text(query)).scalar()
    engine.dispose()
    return value


def _csv_rows(path: Path) -> int:
    return path.read_text(encoding="utf-8").count("\n") - 1


def test_deleted_file_and_lost_report_are_rewritten_by_the_next_run(env: Path, fresh_pg_url: str):
    assert runner.invoke(app, ["drop", "tours", "subventions", str(VALID)]).exit_code == 0
    assert runner.invoke(app, ["run", "--dataset", "subventions"]).exit_code == 0
    publish = env / "publish"
    csv, parquet = publish / "subventions.csv", publish / "subventions.parquet"
    digest = sha256_file(csv)
    manifest = json.loads((publish / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["subventions"]["version"] == 1
    (report,) = (env / "reports" / "tours" / "subventions").glob("*.json")
    csv.unlink()
    report.unlink()
    parquet.write_bytes(parquet.read_bytes()[:100])  # a file cut short

    again = runner.invoke(app, ["run", "--dataset", "subventions"])
    assert again.exit_code == 0, again.output
    assert "réparé" in again.output and "subventions.csv manquant" in again.output
    assert sha256_file(csv) == digest and report.exists()
    entry = json.loads((publish / "manifest.json").read_text(encoding="utf-8"))["subventions"]
    assert {f["path"]: f["sha256"] for f in entry["files"]}["subventions.parquet"] == sha256_file(parquet)
    # The manifest dates the files by their version, not by when they were rewritten (the catalogue
    # reads its dates from the manifest: tests/test_published_conform.py).
    assert entry["published_at"] == manifest["subventions"]["published_at"]
    engine = sa.create_engine(fresh_pg_url)
    with engine.connect() as conn:
        published_at = conn.execute(
            sa.text("select published_at from meta.publications where version = 1 and status = 'published'")
        ).scalar()
    engine.dispose()
    assert datetime.fromisoformat(entry["published_at"]) == published_at.replace(microsecond=0)
    # Nothing to repair any more: the run after says nothing of it.
    assert "réparé" not in runner.invoke(app, ["run", "--dataset", "subventions"]).output


@pytest.fixture()
def full_publish_dir(env: Path):
    publish = env / "publish"
    publish.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(publish)], check=False)
    if mounted.returncode != 0:
        pytest.skip("mount -t tmpfs needs root: the disk-full scenario cannot be staged here")
    try:
        yield publish
    finally:
        subprocess.run(["umount", "-l", str(publish)], check=False)


def _fill(folder: Path) -> Path:
    """A file that takes every free byte of the tmpfs: the next write there fails with ENOSPC."""
    filler = folder / ".remplissage"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 4096)
    except OSError as exc:
        assert exc.errno == errno.ENOSPC
    finally:
        os.close(fd)
    return filler


def test_disk_full_under_publish_is_repaired_once_space_is_back(
    env: Path, full_publish_dir: Path, fresh_pg_url
):
    filler = _fill(full_publish_dir)
    assert runner.invoke(app, ["drop", "tours", "subventions", str(VALID)]).exit_code == 0
    full = runner.invoke(app, ["run", "--dataset", "subventions"])
    assert full.exit_code == 3  # the platform could not write its files: said, not hidden
    # The publication is committed in the warehouse, the batch and its rows are all there.
    assert _count(fresh_pg_url, "select count(*) from published.subventions") == 29
    assert (
        _count(fresh_pg_url, "select sum(rows_read - rows_accepted - rows_quarantined) from meta.batches")
        == 0
    )
    assert not (full_publish_dir / "subventions.csv").exists()

    filler.unlink()
    repaired = runner.invoke(app, ["run", "--dataset", "subventions"])
    assert repaired.exit_code == 0, repaired.output
    assert "réparé" in repaired.output
    assert _csv_rows(full_publish_dir / "subventions.csv") == 29
    manifest = json.loads((full_publish_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["subventions"]["version"] == 1
    assert (full_publish_dir / "catalog.ttl").exists() and (full_publish_dir / "index.html").exists()
    assert not [
        p for p in full_publish_dir.iterdir() if p.name.endswith(".part") or p.name.startswith(".tmp")
    ]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_postgres_stopped_between_commit_and_files_is_repaired_by_the_next_run(
    home: Path, monkeypatch: pytest.MonkeyPatch
):
    # The embedded cluster, outside pytest's tmp_path (pruned by concurrent sessions under a server).
    server_home = Path(tempfile.mkdtemp(prefix="territoire-reconcile-"))
    url = postgres_server.ensure_server(server_home)
    monkeypatch.setenv("TERRITOIRE_WAREHOUSE_URL", url)
    try:
        registry = load_registry()
        dataset = registry.dataset("subventions")
        warehouse = Warehouse(url=url, home=str(home))
        warehouse.setup()
        runs = PipelineRuns(registry, dataset, Store(home=str(home)), warehouse)
        runs.store.drop("tours", "subventions", VALID)
        assert runs.ingest("tours").success
        # The territory is committed as version 1 ...
        territory = dg.materialize(
            runs.assets,
            selection=[asset_key(dataset, "territory")],
            resources=runs.resources,
            instance=runs.instance,
        )
        assert territory.success
        # ... then PostgreSQL stops before the files are written.
        postgres_server.stop_server(server_home)
        files = dg.materialize(
            runs.assets,
            selection=[asset_key(dataset, "published")],
            resources=runs.resources,
            instance=runs.instance,
            raise_on_error=False,
        )
        assert not files.success
        assert not (runs.store.publish_dir / "subventions.csv").exists()

        assert postgres_server.ensure_server(server_home) == url
        outcome = run_pending(registry, home, dataset="subventions", console=Console(quiet=True))
        assert not outcome.failed and not outcome.batches
        assert any(
            r.startswith("subventions : version 1 publiée mais absente du manifeste")
            for r in outcome.repaired
        )
        assert _csv_rows(runs.store.publish_dir / "subventions.csv") == 29
        assert _count(url, "select count(*) from meta.batches") == 1
    finally:
        warehouse.dispose()
        postgres_server.stop_server(server_home)
        shutil.rmtree(server_home, ignore_errors=True)
