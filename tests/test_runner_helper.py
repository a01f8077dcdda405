"""``territoire run`` shares its tasks with a second process: the same batches, rows and published files
as one process alone; the helper runs drops, harvested partitions and publications alike; and a helper
that cannot run leaves its tasks to the main process."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from conftest import SHARED_SCHEMAS, _create_database, _drop_database
from rich.console import Console

import pipelines.runner
from pipelines.helper_process import helper_pool
from pipelines.partition_run import new_worker, run_in_helper
from pipelines.runner import run_pending
from resources.harvest import Harvested
from resources.registry.load import load_registry
from resources.store import Store
from resources.warehouse import Warehouse

FOUNTAINS = (SHARED_SCHEMAS / "datagouv-fontaine-eau" / "exemple-valide.csv").read_bytes()
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


def _fountains(*, not_modified: bool = False) -> Harvested:
    return Harvested(
        content=FOUNTAINS,
        file_name="fontaines.csv",
        source_url="sqlite:///regie-eau.db",
        etag=None,
        last_modified=None,
        not_modified=not_modified,
        sha256=hashlib.sha256(FOUNTAINS).hexdigest(),
        media_type="text/csv",
    )


def test_the_helper_runs_a_harvested_partition_with_the_bytes_downloaded_here(env: Path):
    """The download made in the main process reaches the helper's run, which archives and loads it;
    the main process then publishes the dataset from the warehouse."""
    registry = load_registry()
    with helper_pool(registry, env, history=False) as pool:
        ingested = pool.submit(run_in_helper, "fontaines-eau", "eau-metropole", {}, _fountains()).result()
    assert ingested.success and ingested.ran and ingested.pid != os.getpid()
    assert [(r["file_name"], r["status"]) for r in ingested.rows] == [("fontaines.csv", "loaded")]
    worker = new_worker(registry, env, history=False)
    published = worker.publication("fontaines-eau", True, None)
    worker.resources["warehouse"].dispose()
    assert published.published and published.outputs_due
    assert (env / "publish" / "fontaines-eau.csv").exists()


def test_an_unchanged_feed_with_nothing_waiting_makes_no_run(env: Path):
    worker = new_worker(load_registry(), env, history=False)
    worker.resources["warehouse"].setup()  # as run_pending does first
    result = worker.partition("fontaines-eau", "eau-metropole", {}, _fountains(not_modified=True))
    assert not result.ran and result.rows == []
    # Nothing was published either: the dataset was never delivered.
    nothing = worker.publication("fontaines-eau", False, None)
    assert not (nothing.published or nothing.failed or nothing.outputs_due)
    worker.resources["warehouse"].dispose()


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
    assert len(outcome.helper_lost) == 1  # the task it was handed, run again here
    assert sorted(b["producer"] for b in outcome.batches) == sorted(COMMUNES)


def test_a_main_process_that_cannot_build_its_worker_leaves_no_half_state(
    env: Path, monkeypatch: pytest.MonkeyPatch
):
    """The helper takes tasks before this process builds its own Dagster worker: if that fails, the run
    fails, what the helper loaded meanwhile is whole batches, and the next run does the rest, once."""

    def broken(*args, **kwargs):
        raise RuntimeError("no Dagster instance today")

    registry = load_registry()
    _drop_everywhere(env)
    with monkeypatch.context() as patched:
        patched.setattr(pipelines.runner, "new_worker", broken)
        with pytest.raises(RuntimeError, match="no Dagster instance"):
            run_pending(registry, env, dataset="subventions", console=Console(quiet=True), helper=True)
    outcome = run_pending(registry, env, dataset="subventions", console=Console(quiet=True))
    assert not outcome.failed and not outcome.failed_batches
    warehouse = Warehouse(home=str(env))
    logged = warehouse.batches(dataset="subventions")
    warehouse.dispose()
    assert sorted(logged["producer"]) == sorted(COMMUNES)  # one batch per file, none made twice
    assert (logged["rows_read"] == logged["rows_accepted"] + logged["rows_quarantined"]).all()
    assert set(logged["status"]) <= {"loaded", "refused"}


def test_a_batch_the_helper_committed_before_dying_is_in_the_run_table(
    env: Path, monkeypatch: pytest.MonkeyPatch
):
    """The helper loads its partition, then dies before answering: the partition run again here finds
    its file taken, and the run's table still lists that batch, once, from the batch log."""
    import helper_faults

    monkeypatch.setattr(pipelines.runner, "run_in_helper", helper_faults.commit_then_die)
    _drop_everywhere(env)
    outcome = run_pending(
        load_registry(), env, dataset="subventions", console=Console(quiet=True), helper=True
    )
    assert len(outcome.helper_lost) == 1 and outcome.helper_partitions == 0
    lost_producer = outcome.helper_lost[0].split("/")[1]
    assert sorted(b["producer"] for b in outcome.batches) == sorted(COMMUNES)
    warehouse = Warehouse(home=str(env))
    logged = warehouse.batches(producer=lost_producer)
    warehouse.dispose()
    assert len(logged) == 1  # one file, one batch: the run here did not load it a second time
    (recovered,) = [b for b in outcome.batches if b["producer"] == lost_producer]
    assert recovered["batch_id"] == logged["batch_id"].iloc[0]
    assert recovered["rows_read"] == recovered["rows_accepted"] + recovered["rows_quarantined"] > 0
    assert not outcome.failed and not outcome.failed_batches


def test_the_command_line_starts_the_helper_when_enough_drops_wait(
    env: Path, monkeypatch: pytest.MonkeyPatch
):
    """Eight communes' drops: `territoire run` starts the helper before it imports Dagster, the helper
    loading the registry itself; every file ends as one batch, rows conserved."""
    from typer.testing import CliRunner

    import pipelines.helper_process
    from pipelines.cli import app
    from pipelines.pending import drops_waiting
    from resources.registry.index import registry_index

    communes = [*COMMUNES, "luynes", "fondettes", "la-riche"]
    store = Store(home=str(env))
    for commune in communes:
        target = store.inbox(commune, "subventions")
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(VALID, target / f"{commune}.csv")
    index = registry_index(env / "cache")
    assert drops_waiting(index, env) == len(communes)
    assert drops_waiting(index, env, producer="tours") == 1 and drops_waiting(index, env, dataset="dae") == 0

    started = []
    real_pool = pipelines.helper_process.helper_pool

    def watched(registry, home, history):
        started.append(registry)
        return real_pool(registry, home, history)

    monkeypatch.setattr(pipelines.helper_process, "helper_pool", watched)
    result = CliRunner().invoke(app, ["run", "--dataset", "subventions"])
    assert result.exit_code == 0, result.output
    assert started == [None], "one helper, started by the command line, loading the registry itself"
    warehouse = Warehouse(home=str(env))
    batches = warehouse.batches("subventions")
    warehouse.dispose()
    assert sorted(batches["producer"]) == sorted(communes) and set(batches["status"]) == {"loaded"}
    assert (batches["rows_read"] == batches["rows_accepted"] + batches["rows_quarantined"]).all()
    assert (env / "publish" / "subventions.csv").exists()
