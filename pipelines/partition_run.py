"""The run's Dagster work in one process, summed up as plain data, in this process or in a second one.

``territoire run`` is CPU-bound on one core (reading, harmonising and validating files, the quality
gate, Dagster's own bookkeeping per run), while the machine has more. Dagster is not safe to share
between threads, so the run's partitions (``pipelines/work_board.py``) are shared with **one helper
process**, which holds its own :class:`Worker` — its own Dagster instance, the same assets and
resources on the same home — and runs them exactly as the main process does, one Dagster run each
(publications stay in the main process, see ``pipelines/runner.py``). The warehouse serialises what
must be (advisory locks per producer, per dataset DDL, per publication), so two producers loading at
once is what the distributed deployment already does.

The pool itself is ``pipelines/helper_process.py``'s. A helper that dies leaves its task to the main
process; a batch it cut short is repaired by the next run's reconciliation, as after any crash.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg

from assets.keys import asset_key
from assets.producer import build_dataset_assets, pending_files
from pipelines.dagster_run import dagster_instance, materialize_quietly, step_error
from pipelines.platform_resources import platform_resources
from pipelines.publication_run import PublicationResult, publish_dataset
from resources.harvest import Harvested
from resources.harvest.resource import Prefetched
from resources.registry.model import Dataset, Registry

# A batch's summary in the metadata of runs that carry only the last batch (before ``batches``).
_BATCH_KEYS = ("file_name", "rows_read", "rows_accepted", "rows_quarantined", "status", "refusal_reason")


@dataclass
class PartitionResult:
    """What the runner needs of a partition's run: its batches and, if it failed, why."""

    rows: list[dict] = field(default_factory=list)
    success: bool = True
    error_class: str | None = None
    error_message: str = ""
    run_id: str = ""
    pid: int = 0
    # False: an unchanged feed with nothing waiting made no run at all.
    ran: bool = True


@dataclass
class Worker:
    """What one process needs to run the platform's jobs: registry, Dagster instance, resources (on the
    platform's home)."""

    registry: Registry
    instance: dg.DagsterInstance
    resources: dict
    history: bool = False
    _assets: dict[str, list] = field(default_factory=dict)

    def assets(self, dataset_id: str) -> list:
        if dataset_id not in self._assets:
            self._assets[dataset_id] = build_dataset_assets(self.registry, self.registry.dataset(dataset_id))
        return self._assets[dataset_id]

    def partition(
        self, dataset_id: str, producer: str, tags: dict[str, str], fetched: Any = None
    ) -> PartitionResult:
        """The partition's run; a harvested one (``fetched``: its download) with its bytes already here.

        A feed that answered unchanged (304, same sha256) makes no run, unless ``history`` asks for every
        run to be recorded or an earlier receipt of it still waits (a run cut short)."""
        d = self.registry.dataset(dataset_id)
        resources = self.resources
        if fetched is not None:
            unchanged = isinstance(fetched, Harvested) and fetched.not_modified
            if (
                unchanged
                and not self.history
                and not pending_files(self.resources["store"], self.resources["warehouse"], d, producer)
            ):
                return PartitionResult(pid=os.getpid(), ran=False)
            resources = {**resources, "harvester": Prefetched(fetched)}
        return run_partition(
            d,
            producer,
            assets=self.assets(dataset_id),
            instance=self.instance,
            resources=resources,
            tags=tags,
        )

    def publication(self, dataset_id: str, changed: bool, stale: str | None) -> PublicationResult:
        return publish_dataset(
            self.registry.dataset(dataset_id),
            assets=self.assets(dataset_id),
            instance=self.instance,
            resources=self.resources,
            changed=changed,
            stale=stale,
        )


def run_partition(
    d: Dataset,
    partition: str,
    *,
    assets: list,
    instance: dg.DagsterInstance,
    resources: dict,
    tags: dict[str, str],
) -> PartitionResult:
    """Materialise the partition's harvested + harmonised assets; the run's outcome as plain data."""
    result = materialize_quietly(
        assets,
        [asset_key(d, "harvested"), asset_key(d, "harmonised")],
        instance=instance,
        resources=resources,
        partition_key=partition,
        tags=tags,
    )
    out = PartitionResult(success=result.success, run_id=result.run_id, pid=os.getpid())
    if not result.success and (error := step_error(result)) is not None:
        out.error_class, out.error_message = error.cls_name, error.message
    for event in result.get_asset_materialization_events():
        meta = event.materialization.metadata
        if event.asset_key == asset_key(d, "harmonised") and meta.get("new_batches", 0).value:
            out.rows += batch_rows(d, partition, meta)
    return out


def batch_rows(dataset: Dataset, producer: str, meta: dict) -> list[dict]:
    """One row per batch the partition's run made (older metadata carries only the last batch)."""
    if "batches" in meta:
        return [{"dataset": dataset.id, "producer": producer, **b} for b in meta["batches"].value]

    def value(key: str):
        item = meta.get(key)
        return item.value if item is not None else ""

    return [{"dataset": dataset.id, "producer": producer, **{k: value(k) for k in _BATCH_KEYS}}]


def new_worker(registry: Registry, home: Path, history: bool, resources: dict | None = None) -> Worker:
    """A process's worker; ``resources``: the platform's, when the caller holds them already."""
    return Worker(
        registry=registry,
        instance=dagster_instance(history),
        resources=resources if resources is not None else platform_resources(home),
        history=history,
    )


# --------------------------------------------------------------------------- in the helper process

_HELPER: dict[str, Worker] = {}


def start_worker(registry: Registry, home: Path, history: bool) -> None:
    """The helper's :class:`Worker` (``pipelines/helper_process.py`` calls it when the process starts)."""
    _HELPER["worker"] = new_worker(registry, home, history)


def run_in_helper(
    dataset_id: str, producer: str, tags: dict[str, str], fetched: Any = None
) -> PartitionResult:
    """:meth:`Worker.partition` in the helper process (the pool's task)."""
    return _HELPER["worker"].partition(dataset_id, producer, tags, fetched)
