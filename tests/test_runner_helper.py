"""``territoire run`` shares the drops with a second process: the same batches, rows and published files
as one process alone, and a helper that cannot run leaves its partitions to the main process."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import SHARED_SCHEMAS, _create_database, _drop_database
from rich.console import Console

import pipelines.runner
from pipelines.partition_run import helper_pool, run_in_helper
from pipelines.runner import run_pending
from resources.registry.load import load_registry
from resources.store import Store
from resources.warehouse import Warehouse

VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"
INVALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-invalide-erreurs-cellules.csv"
COMMUNES = ["tours", "joue-les-tours", "saint-cyr-sur-loire", "saint-pierre-des-corps", "ballan-mire"]


def _drop_everywhere(home: Path) -> None:
    store = Store(home=str(home))
    for i, commune in enumerate(COMMUNES):
        source = INVALID if i % 2 else VALID
        target = store.inbox(commune, "subventions")
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target / f"{commune}-{source.name}")


def _summary(outcome) -> list[tuple]:
    return sorted(
        (
            b["producer"],
            b["file_name"],
            b["status"],
            b["rows_read"],
            b["rows_accepted"],
            b["rows_quarantined"],
        )
        for b in outcome.batches
    )


def test_a_helper_process_makes_the_same_batches_and_files(env: Path, tmp_path: Path, fresh_pg_url: str):
    registry = load_registry()
    _drop_everywhere(env)
    shared = run_pending(registry, env, dataset="subventions", console=Console(quiet=True), helper=True)
    assert not shared.failed and len(shared.batches) == len(COMMUNES)
    assert sum(b["rows_read"] for b in shared.batches) == sum(
        b["rows_accepted"] + b["rows_quarantined"] for b in shared.batches
    )
    published = (env / "publish" / "subventions.csv").read_bytes()
    # The run's one look at every partition's taken receipts agrees with the per-partition query.
    warehouse = Warehouse(home=str(env))
    seen = warehouse.all_sequences_seen()
    assert all(seen[("subventions", c)] == warehouse.sequences_seen("subventions", c) for c in COMMUNES)
    warehouse.dispose()

    # The same drops in another home and database, one process alone.
    alone_home = tmp_path / "alone"
    alone_home.mkdir()
    name = f"territoire_test_alone_{os.getpid()}"
    url = _create_database(name)
    try:
        os.environ["TERRITOIRE_WAREHOUSE_URL"] = url
        _drop_everywhere(alone_home)
        alone = run_pending(
            registry, alone_home, dataset="subventions", console=Console(quiet=True), helper=False
        )
        assert alone.helper_partitions == 0
        assert _summary(alone) == _summary(shared)
        assert (alone_home / "publish" / "subventions.csv").read_bytes() == published
    finally:
        os.environ["TERRITOIRE_WAREHOUSE_URL"] = fresh_pg_url
        _drop_database(name)


def test_a_partition_runs_in_the_helper_process(env: Path):
    registry = load_registry()
    _drop_everywhere(env)
    with helper_pool(registry, env, history=False) as pool:
        result = pool.submit(run_in_helper, "subventions", "tours", {}).result()
    assert result.success and result.pid not in (0, os.getpid())
    assert [(r["producer"], r["status"]) for r in result.rows] == [("tours", "loaded")]


def test_a_helper_that_cannot_start_leaves_its_partitions_here(env: Path, monkeypatch: pytest.MonkeyPatch):
    def broken(*args, **kwargs):
        raise RuntimeError("no helper today")

    # The runner's own name for the task: a local function cannot be sent to another process.
    monkeypatch.setattr(pipelines.runner, "run_in_helper", broken)
    _drop_everywhere(env)
    outcome = run_pending(
        load_registry(), env, dataset="subventions", console=Console(quiet=True), helper=True
    )
    assert not outcome.failed and outcome.helper_partitions == 0
    assert sorted(b["producer"] for b in outcome.batches) == sorted(COMMUNES)
