"""Run what is pending through Dagster, in process: what ``territoire run`` does.

Each (dataset, producer) partition with work is one Dagster run of the dataset's ingest assets, so a
failing producer fails only its own run; the territory and its publication are then materialised once
per dataset that changed, and the territory-wide catalogue and scoreboard once after all of them. With
``history``, runs are recorded in the instance under ``DAGSTER_HOME`` so ``dagster dev`` shows them;
otherwise they live in memory (see ``run_pending``).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
from collections import deque
from collections.abc import Mapping
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from assets.keys import asset_key, source_host
from assets.outputs import OUTPUT_KEYS, build_output_assets
from assets.producer import build_dataset_assets, harvest_request, pending_files
from pipelines.partition_run import (
    MIN_SHARED_PARTITIONS,
    QUIET,
    PartitionResult,
    helper_pool,
    run_in_helper,
    run_partition,
    step_error,
)
from pipelines.platform_resources import platform_resources
from pipelines.reconcile import rewrite_reports, stale_publications
from pipelines.schedules import HOST_TAG
from quality.gate import LIBRARIES as GATE_LIBRARIES
from resources.harvest import Harvested
from resources.harvest.probe import probe_feeds
from resources.harvest.resource import Prefetched
from resources.registry.model import Dataset, Registry
from resources.store import Store
from resources.warehouse import Warehouse


@dataclass
class RunOutcome:
    batches: list[dict] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    published: list[str] = field(default_factory=list)
    warehouse: str = ""  # the warehouse URL, password masked
    harvest_failures: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    # Changes waiting for approval after the run (Warehouse.holds), whatever run held them.
    holds: list[dict] = field(default_factory=list)
    # What the run's reconciliation rewrote: "<dataset> : why" and the batch reports written again.
    repaired: list[str] = field(default_factory=list)
    failed_batches: list[dict] = field(default_factory=list)
    # Partitions the helper process ran (pipelines/partition_run.py).
    helper_partitions: int = 0


def partitions_with_work(
    store: Store,
    warehouse: Warehouse,
    dataset: Dataset,
    seen: dict[tuple[str, str], set[int]] | None = None,
) -> list[str]:
    """Producers whose inbox holds files, whose archive holds unprocessed files, or who are harvested.

    ``seen`` (:meth:`Warehouse.all_sequences_seen`) spares a query per partition: hundreds in a
    territory, thousands in a département."""
    producers = []
    for source in dataset.sources:
        if source.kind != "drop":
            producers.append(source.producer)
        elif store.inbox_files(source.producer, dataset.id) or pending_files(
            store,
            warehouse,
            dataset,
            source.producer,
            None if seen is None else seen.get((dataset.table, source.producer), set()),
        ):
            producers.append(source.producer)
    return producers


def run_pending(
    registry: Registry,
    home: Path,
    *,
    dataset: str | None = None,
    producer: str | None = None,
    console: Console | None = None,
    history: bool = False,
    downloads: Mapping[tuple[str, str], Future] | None = None,
    helper: bool | None = False,
) -> RunOutcome:
    """``history`` records the runs in the instance under ``DAGSTER_HOME`` so the UI shows them; it
    costs about a second of SQLite writes per partition run, so the default keeps them in memory
    (batches, reports and checks' outcomes are in the warehouse and the reports either way).

    Downloads wait on producers' servers, so they start first, in background threads: different hosts
    at once, one source at a time per host. Meanwhile the communes' drops are ingested; each harvested
    partition is then run (archive, harmonise, load) as soon as its download is over, and a dataset is
    published once all its partitions are done. A slow or dead feed thus delays only its own
    dataset's publication, by at most its harvest timeout. Dagster itself runs in this thread only:
    its storages and the SQLAlchemy event hooks it meets are not safe to share between threads.

    ``downloads`` are those already asked for (``pipelines/pending.py``, one future per partition). A
    feed that answers unchanged (304, same sha256) makes no batch, hence no run, unless ``history``
    asks for every run to be recorded.

    ``helper`` shares the drops with a second process (``pipelines/partition_run.py``); ``None`` lets
    the run decide (enough drops and a free core). The caller's main module must be import-safe
    (``if __name__ == "__main__"``), as any spawned process requires: the command line's is.
    """
    console = console or Console()
    # The quality gate's library takes seconds to import: a thread imports it while the first
    # partitions are ingested, in the time this one spends waiting on PostgreSQL and on a free core,
    # so the first gate finds it loaded.
    gate_libraries = _import_in_background(*GATE_LIBRARIES)
    resources = platform_resources(home)
    store, warehouse = resources["store"], resources["warehouse"]
    warehouse.setup()
    instance = dg.DagsterInstance.get() if history else dg.DagsterInstance.ephemeral()
    outcome = RunOutcome(warehouse=warehouse.masked_url)
    datasets = [registry.dataset(dataset)] if dataset else list(registry.datasets.values())

    # Reconcile first: files and reports a previous run could not write are rewritten from the
    # warehouse (publications) and the archive (reports) before anything new happens.
    stale = stale_publications(registry, store, warehouse)
    try:
        outcome.repaired += [f"rapport {b} réécrit" for b in rewrite_reports(registry, store, warehouse)]
    except OSError as exc:
        outcome.failed.append(f"rapports : {exc}")
    seen = warehouse.all_sequences_seen()
    work = {
        d.id: [p for p in partitions_with_work(store, warehouse, d, seen) if producer in (None, p)]
        for d in datasets
    }
    assets = {d.id: build_dataset_assets(registry, d) for d in datasets}
    harvested = {
        (d.id, p): source_host(source)
        for d in datasets
        for p in work[d.id]
        if (source := d.source_for(p)) is not None and source.kind != "drop"
    }
    waiting = {d.id: {p for (ds, p) in harvested if ds == d.id} for d in datasets}
    changed = dict.fromkeys(work, False)
    outputs_due = False  # a dataset's files were (re)written: the catalogue and scoreboard follow
    total = sum(len(v) for v in work.values())
    by_id = {d.id: d for d in datasets}
    # Only the network wait runs in threads (one per host, its sources in turn): Dagster runs stay in
    # this one. A download's exception is re-raised inside the partition's run, which records it.
    downloads = {key: future for key, future in (downloads or {}).items() if key in harvested}
    downloads |= probe_feeds(
        {key: harvest_request(store, by_id[key[0]], key[1]) for key in harvested if key not in downloads},
        resources["harvester"].policy(),
    )

    def tags_of(d: Dataset, partition: str) -> dict[str, str]:
        return {"territoire/partition": f"{d.id}/{partition}"} | (
            {HOST_TAG: harvested[(d.id, partition)]} if (d.id, partition) in harvested else {}
        )

    def run_here(
        d: Dataset, partition: str, fetched: Harvested | BaseException | None = None
    ) -> PartitionResult:
        """The partition's run in this process (a harvested one with its download already made)."""
        progress.update(task, description=escape(f"{d.id} / {partition}"))
        return run_partition(
            registry,
            d,
            partition,
            assets=assets[d.id],
            instance=instance,
            resources=resources if fetched is None else {**resources, "harvester": Prefetched(fetched)},
            tags=tags_of(d, partition),
        )

    def record(d: Dataset, partition: str, result: PartitionResult) -> None:
        if not result.success:
            record_failure(d, partition, result)
        if result.pid != os.getpid():
            outcome.helper_partitions += 1
        changed[d.id] = changed[d.id] or any(r["status"] != "failed" for r in result.rows)
        outcome.batches += result.rows
        outcome.failed_batches += [r for r in result.rows if r["status"] == "failed"]

    def record_failure(d: Dataset, partition: str, result: PartitionResult) -> None:
        if result.error_class == "FailedBatches":
            # Files the platform failed on: recorded as failed batches, listed by the CLI.
            outcome.failed.append(f"{d.id}/{partition}")
        elif result.error_class == "HarvestError":
            # A producer's feed down or broken: its partition fails, the platform did not.
            outcome.harvest_failures.append(f"{d.id}/{partition} : {result.error_message.strip()}")
        else:
            outcome.failed.append(f"{d.id}/{partition}")
            console.print(
                f"[red]échec : {escape(d.id)} / {escape(partition)} — journal Dagster {result.run_id}[/]"
            )

    def publish(d: Dataset) -> None:
        nonlocal outputs_due
        if d.id in stale and not changed[d.id]:
            progress.update(task, description=escape(f"{d.id} / réparation des fichiers publiés"))
            if write_publication_files(registry, home, d.id, instance=instance, outputs=False):
                outputs_due = True
                outcome.repaired.append(f"{d.id} : {stale[d.id]} — fichiers réécrits")
            else:
                outcome.failed.append(f"{d.id} (réécriture des fichiers publiés)")
        # A dataset nobody has delivered yet is not published: an empty entry would mislead portals.
        first_time = not (store.publish_dir / f"{d.id}.csv").exists() and _has_loaded_batch(warehouse, d)
        if not (changed[d.id] or first_time):
            return
        progress.update(task, description=escape(f"{d.id} / publication"))
        result = dg.materialize(
            assets[d.id],
            selection=[asset_key(d, "territory"), asset_key(d, "published")],
            instance=instance,
            resources=resources,
            raise_on_error=False,
            run_config=QUIET,
        )
        # The dataset's files are written, not yet the catalogue and scoreboard: both follow the datasets.
        outputs_due = outputs_due or result.success
        if result.success:
            outcome.published.append(d.id)
        elif (error := step_error(result)) is not None and error.cls_name == "DagsterAssetCheckFailedError":
            # The gate kept a bad candidate out: the current version stays published.
            outcome.blocked.append(f"{d.id} : {error.message.strip().splitlines()[-1]}")
        else:
            outcome.failed.append(d.id)

    def ingest_with_helper(drops: list[tuple[Dataset, str]]) -> None:
        """The drops shared with a helper process (see pipelines/partition_run.py): it takes partitions
        from the front of the queue, this process from the back, until none is left."""
        queue = deque(drops)
        results: dict[tuple[str, str], PartitionResult] = {}
        left_over: list[tuple[Dataset, str]] = []

        def feed_helper(pool: ProcessPoolExecutor) -> None:
            # This thread only waits on the helper: Dagster runs in the processes, never here.
            while True:
                try:
                    d, p = queue.popleft()
                except IndexError:
                    return
                try:
                    results[(d.id, p)] = pool.submit(run_in_helper, d.id, p, tags_of(d, p)).result()
                except Exception:  # noqa: BLE001 - a helper that cannot start or died
                    # Its partition is run here afterwards; the rest of the queue is this process's.
                    # A batch it cut short is repaired by the next run's reconciliation.
                    left_over.append((d, p))
                    return
                progress.advance(task)

        with helper_pool(registry, home, history) as pool:
            feeder = threading.Thread(target=feed_helper, args=(pool,), name="helper feeder", daemon=True)
            feeder.start()
            while True:
                try:
                    d, p = queue.pop()
                except IndexError:
                    break
                results[(d.id, p)] = run_here(d, p)
                progress.advance(task)
            feeder.join()
        for d, p in left_over:
            results[(d.id, p)] = run_here(d, p)
            progress.advance(task)
        # Recorded in the registry's order, whoever ran them: the summary reads the same either way.
        for d, p in drops:
            record(d, p, results[(d.id, p)])

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("ingestion", total=total)
        drops = [(d, p) for d in datasets for p in work[d.id] if (d.id, p) not in harvested]
        if helper is None:
            helper = len(drops) >= MIN_SHARED_PARTITIONS and (os.cpu_count() or 1) > 1
        if helper:
            ingest_with_helper(drops)
        else:
            for d, partition in drops:
                record(d, partition, run_here(d, partition))
                progress.advance(task)
        for d in datasets:
            if not waiting[d.id]:
                publish(d)
        pending = {future: key for key, future in downloads.items()}
        for future in as_completed(pending):
            ds, partition = pending[future]
            fetched = future.result()
            unchanged = isinstance(fetched, Harvested) and fetched.not_modified
            # An unchanged feed still runs when an earlier receipt of it waits (a run cut short).
            if history or not unchanged or pending_files(store, warehouse, by_id[ds], partition):
                record(by_id[ds], partition, run_here(by_id[ds], partition, fetched))
            progress.advance(task)
            waiting[ds].discard(partition)
            if not waiting[ds]:
                publish(by_id[ds])
    if outputs_due and not write_outputs(registry, resources, instance):
        outcome.failed.append("territoire (catalogue et tableau de bord)")
    outcome.holds = warehouse.holds()
    # A run that published nothing still lets the import end: no thread outlives the run.
    gate_libraries.join()
    return outcome


def _import_in_background(*modules: str) -> threading.Thread:
    """Import ``modules`` in a daemon thread; a failure is left to the import that needs it."""

    def load() -> None:
        for module in modules:
            with contextlib.suppress(Exception):
                importlib.import_module(module)

    thread = threading.Thread(target=load, name=f"import {', '.join(modules)}", daemon=True)
    thread.start()
    return thread


def write_outputs(registry: Registry, resources: dict, instance: dg.DagsterInstance) -> bool:
    """Materialise the territory-wide catalogue and scoreboard, after the datasets' publications."""
    result = dg.materialize(
        build_output_assets(registry),
        selection=list(OUTPUT_KEYS),
        instance=instance,
        resources=resources,
        raise_on_error=False,
        run_config=QUIET,
    )
    return result.success


def write_publication_files(
    registry: Registry,
    home: Path,
    dataset: str,
    *,
    instance: dg.DagsterInstance | None = None,
    outputs: bool = True,
) -> bool:
    """Materialise only ``<dataset>/published``, the files of the current version, and with ``outputs``
    the territory's catalogue and scoreboard after it (the runner writes those once, at the end)."""
    d = registry.dataset(dataset)
    selection = [asset_key(d, "published"), *(OUTPUT_KEYS if outputs else ())]
    result = dg.materialize(
        [*build_dataset_assets(registry, d), *(build_output_assets(registry) if outputs else ())],
        selection=selection,
        instance=instance or dg.DagsterInstance.ephemeral(),
        resources=platform_resources(home),
        raise_on_error=False,
        run_config=QUIET,
    )
    return result.success


def _has_loaded_batch(warehouse: Warehouse, dataset: Dataset) -> bool:
    batches = warehouse.batches(dataset.table)
    return not batches.empty and bool((batches["status"] == "loaded").any())
