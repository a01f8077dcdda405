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
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress

from assets.keys import source_host
from assets.producer import harvest_request, pending_files
from pipelines.helper_process import MIN_SHARED_PARTITIONS, helper_pool, start_helper
from pipelines.partition_run import PartitionResult, new_worker, run_in_helper
from pipelines.platform_resources import platform_resources
from pipelines.publication_run import PublicationResult, write_outputs
from pipelines.reconcile import rewrite_reports, stale_publications
from pipelines.schedules import HOST_TAG
from pipelines.work_board import Task, WorkBoard
from quality.gate import LIBRARIES as GATE_LIBRARIES
from quality.reports.paths import read_batch_report
from resources.harvest.probe import probe_feeds
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
    # The partition the helper held when it died ("<dataset>/<producer>"): run again here; a batch it
    # had already committed is read back from the batch log into ``batches`` (``_recover_lost``).
    helper_lost: list[str] = field(default_factory=list)


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
    pool: ProcessPoolExecutor | None = None,
) -> RunOutcome:
    """``history`` records the runs in the instance under ``DAGSTER_HOME`` so the UI shows them; it
    costs about a second of SQLite writes per partition run, so the default keeps them in memory
    (batches, reports and checks' outcomes are in the warehouse and the reports either way).

    Downloads wait on producers' servers, so they start first, in background threads: different hosts
    at once, one source at a time per host. Meanwhile the communes' drops are ingested; each harvested
    partition is run (archive, harmonise, load) once its download is over, and a dataset is published
    once all its partitions are done (``pipelines/work_board.py``). A slow or dead feed thus delays
    only its own dataset's publication, by at most its harvest timeout. Dagster itself runs in this
    thread only: its storages and the SQLAlchemy event hooks it meets are not safe to share between
    threads.

    ``downloads`` are those already asked for (``pipelines/pending.py``, one future per partition). A
    feed that answers unchanged (304, same sha256) makes no batch, hence no run, unless ``history``
    asks for every run to be recorded.

    ``helper`` shares the tasks with a second process (``pipelines/partition_run.py``); ``None`` lets
    the run decide (enough partitions and a free core). The caller's main module must be import-safe
    (``if __name__ == "__main__"``), as any spawned process requires: the command line's is. ``pool``:
    a helper the caller started already (``pipelines/helper_process.py``) and will shut down.
    """
    console = console or Console()
    # The quality gate's library takes seconds to import: a thread imports it while the first
    # partitions are ingested, in the time this one spends waiting on PostgreSQL and on a free core,
    # so the first gate finds it loaded.
    gate_libraries = _import_in_background(*GATE_LIBRARIES)
    resources = platform_resources(home)
    store, warehouse = resources["store"], resources["warehouse"]
    warehouse.setup()
    # A helper that dies after committing a batch cannot report it: the batch log, read from here on,
    # can (the database's clock, the one recorded_at is written with).
    started = warehouse.clock()
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
    harvested = {
        (d.id, p): source_host(source)
        for d in datasets
        for p in work[d.id]
        if (source := d.source_for(p)) is not None and source.kind != "drop"
    }
    by_id = {d.id: d for d in datasets}
    total = sum(len(v) for v in work.values())
    if helper is None:
        helper = total >= MIN_SHARED_PARTITIONS and (os.cpu_count() or 1) > 1
    with contextlib.ExitStack() as stack:
        if pool is None and helper:
            pool = stack.enter_context(helper_pool(registry, home, history))
            # Its imports run on the other core while this process builds its own Dagster instance.
            start_helper(pool)
        # Only the network wait runs in threads (one per host, its sources in turn): Dagster runs stay
        # in this one. A download's exception is re-raised inside the partition's run, which records it.
        downloads = {key: future for key, future in (downloads or {}).items() if key in harvested}
        downloads |= probe_feeds(
            {key: harvest_request(store, by_id[key[0]], key[1]) for key in harvested if key not in downloads},
            resources["harvester"].policy(),
        )
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("ingestion", total=total)
            shared = _SharedRun(work, harvested, stale, on_partition=lambda: progress.advance(task))
            board = shared.board(downloads)
            if pool is not None:
                feeder = threading.Thread(
                    target=_feed_helper, args=(board, pool, shared), name="helper feeder", daemon=True
                )
                feeder.start()
            # The helper takes its first tasks while this process builds its own Dagster instance
            # (its first task started about a second earlier on the bench machine).
            worker = new_worker(registry, home, history, resources)

            while (job := board.take(front=False)) is not None:
                label = f"{job.dataset} / {job.producer or 'publication'}"
                progress.update(task, description=escape(label))
                if job.is_publication:
                    result = worker.publication(job.dataset, *shared.publication_args(job.dataset))
                else:
                    result = worker.partition(job.dataset, job.producer, shared.tags(job), job.fetched)
                shared.done(board, job, result)
            if pool is not None:
                feeder.join()
    shared.summarise(outcome, datasets, console)
    _recover_lost(outcome, shared.lost, by_id, resources, started)
    if shared.outputs_due and not write_outputs(registry, resources, worker.instance):
        outcome.failed.append("territoire (catalogue et tableau de bord)")
    outcome.holds = warehouse.holds()
    # A run that published nothing still lets the import end: no thread outlives the run.
    gate_libraries.join()
    return outcome


class _SharedRun:
    """The run's state both takers update: which partitions are left per dataset, the results."""

    def __init__(
        self,
        work: dict[str, list[str]],
        harvested: dict[tuple[str, str], str],
        stale: dict[str, str],
        on_partition: Callable[[], None],
    ) -> None:
        self.work, self.harvested, self.stale = work, harvested, stale
        self._on_partition = on_partition  # the progress bar counts partitions
        self.left = {ds: len(partitions) for ds, partitions in work.items()}
        self.changed = dict.fromkeys(work, False)
        self.partitions: dict[tuple[str, str], PartitionResult] = {}
        self.publications: dict[str, PublicationResult] = {}
        self.outputs_due = False  # a dataset's files were (re)written: the catalogue and scoreboard follow
        self.lost: list[Task] = []  # the task the helper held when it died
        self._lock = threading.Lock()

    def board(self, downloads: Mapping[tuple[str, str], Future]) -> WorkBoard:
        """The drops ready at once, in the registry's order; harvests as their downloads end; the
        publications of datasets without partitions ready at once, the others to come."""
        board = WorkBoard()
        for ds, partitions in self.work.items():
            for p in partitions:
                if (ds, p) not in self.harvested:
                    board.add(Task(ds, p))
        board.expect(len(self.harvested))
        for ds, left in self.left.items():
            if left == 0:
                board.add(Task(ds))
            else:
                board.expect()
        for key in self.harvested:
            if key in downloads:
                downloads[key].add_done_callback(
                    lambda f, key=key: board.add(Task(*key, fetched=_download(f)), expected=True)
                )
            else:  # not asked beforehand: the run's own harvester downloads it
                board.add(Task(*key), expected=True)
        return board

    def tags(self, task: Task) -> dict[str, str]:
        key = (task.dataset, task.producer)
        return {"territoire/partition": f"{task.dataset}/{task.producer}"} | (
            {HOST_TAG: self.harvested[key]} if key in self.harvested else {}
        )

    def publication_args(self, dataset: str) -> tuple[bool, str | None]:
        return self.changed[dataset], self.stale.get(dataset)

    def done(self, board: WorkBoard, task: Task, result: PartitionResult | PublicationResult) -> None:
        """Record a task's result; the last partition of a dataset makes its publication ready."""
        with self._lock:
            if isinstance(result, PublicationResult):
                self.publications[task.dataset] = result
                self.outputs_due = self.outputs_due or result.outputs_due
            else:
                self.partitions[(task.dataset, task.producer)] = result
                self.changed[task.dataset] |= any(r["status"] != "failed" for r in result.rows)
                self.left[task.dataset] -= 1
                if self.left[task.dataset] == 0:
                    board.add(Task(task.dataset), expected=True)
                self._on_partition()
        board.finish()

    def summarise(self, outcome: RunOutcome, datasets: list[Dataset], console: Console) -> None:
        """The results in the registry's order, whoever ran them: the summary reads the same either way."""
        outcome.helper_lost = [f"{t.dataset}/{t.producer}" for t in self.lost]
        for d in datasets:
            for p in self.work[d.id]:
                result = self.partitions.get((d.id, p))
                if result is not None and result.ran:
                    _record(outcome, d, p, result, console)
            publication = self.publications.get(d.id)
            if publication is None:
                continue
            if publication.repaired:
                outcome.repaired.append(publication.repaired)
            if publication.published:
                outcome.published.append(d.id)
            if publication.blocked:
                outcome.blocked.append(publication.blocked)
            if publication.failed:
                outcome.failed.append(publication.failed)


def _download(future: Future):
    """A download's outcome: its Harvested, or the exception it raised (re-raised in the partition's run)."""
    try:
        return future.result()
    except BaseException as exc:  # noqa: BLE001 - the partition's run records it
        return exc


def _record(
    outcome: RunOutcome, d: Dataset, partition: str, result: PartitionResult, console: Console
) -> None:
    if not result.success:
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
    if result.pid != os.getpid():
        outcome.helper_partitions += 1
    outcome.batches += result.rows
    outcome.failed_batches += [r for r in result.rows if r["status"] == "failed"]


def _recover_lost(
    outcome: RunOutcome, lost: list[Task], datasets: Mapping[str, Dataset], resources: dict, since: datetime
) -> None:
    """Add to the run's table the batches a dead helper committed before it could say so.

    The partition was run again here, which found its files already taken: the batch log since the
    run began holds what the helper made, and the batch reports the refusal's reason."""
    warehouse, store = resources["warehouse"], resources["store"]
    reported = {b.get("batch_id") for b in outcome.batches}
    for task in lost:
        d = datasets[task.dataset]
        logged = warehouse.batches_since(d.table, task.producer, since)
        for row in logged.to_dict("records"):
            if row["batch_id"] in reported:
                continue
            report = read_batch_report(store.reports_dir, task.producer, d.id, row["batch_id"]) or {}
            batch = {
                "dataset": d.id,
                "producer": task.producer,
                "batch_id": row["batch_id"],
                "file_name": row["file_name"],
                "status": row["status"],
                "rows_read": int(row["rows_read"]),
                "rows_accepted": int(row["rows_accepted"]),
                "rows_quarantined": int(row["rows_quarantined"]),
                "message": row["message"] if row["status"] == "failed" else "",
                "refusal_reason": str(report.get("refusal_reason") or ""),
            }
            outcome.batches.append(batch)
            if batch["status"] == "failed":
                outcome.failed_batches.append(batch)


def _feed_helper(board: WorkBoard, pool: ProcessPoolExecutor, shared: _SharedRun) -> None:
    """Hand the helper process partitions from the front of the board until none is left. This thread
    only waits on the helper: Dagster runs in the processes, never here."""

    def sendable(task: Task) -> bool:
        # Publications stay here, where the gate's great-expectations was imported in the background:
        # the helper would import it again in the foreground (seconds of CPU) for a task or two. A
        # download's exception stays here too: exceptions do not all survive pickling.
        return not task.is_publication and not isinstance(task.fetched, BaseException)

    while (job := board.take(front=True, accept=sendable)) is not None:
        try:
            result = pool.submit(
                run_in_helper, job.dataset, job.producer, shared.tags(job), job.fetched
            ).result()
        except Exception:  # noqa: BLE001 - a helper that cannot start or died
            # Its task and the rest of the board are this process's; a batch it cut short is
            # repaired by the next run's reconciliation.
            shared.lost.append(job)
            board.put_back(job)
            return
        shared.done(board, job, result)


def _import_in_background(*modules: str) -> threading.Thread:
    """Import ``modules`` in a daemon thread; a failure is left to the import that needs it."""

    def load() -> None:
        for module in modules:
            with contextlib.suppress(Exception):
                importlib.import_module(module)

    thread = threading.Thread(target=load, name=f"import {', '.join(modules)}", daemon=True)
    thread.start()
    return thread
