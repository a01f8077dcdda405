"""One partition's ingest run, summed up as plain data, in this process or in a second one.

``territoire run`` is CPU-bound on one core (reading, harmonising and validating files, and Dagster's
own bookkeeping per run), while the machine has more. Dagster is not safe to share between threads,
so the communes' drops are shared with **one helper process**, which runs partitions with its own
Dagster instance exactly as the main process does: same assets, same resources on the same home, one
Dagster run per partition. The warehouse serialises what must be (advisory locks per producer, per
dataset DDL, per publication), so two partitions of different producers loading at once is what the
distributed deployment already does.

Work is shared by stealing: every drop partition is queued for the helper, and the main process takes
them back from the end of the queue (``Future.cancel`` succeeds only on what the helper has not
started). A helper that dies leaves its partitions to the main process; a batch it cut short is
repaired by the next run's reconciliation, as after any crash.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import dagster as dg

from assets.keys import asset_key
from assets.producer import build_dataset_assets
from pipelines.platform_resources import platform_resources
from resources.registry.model import Dataset, Registry

# The console shows progress and the final table; failures are summarised by the CLI, not Dagster's log.
QUIET = {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
# Below this many drop partitions the helper's start (≈ 3 s of imports on the idle core) is not worth it.
MIN_SHARED_PARTITIONS = 8
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


def run_partition(
    registry: Registry,
    d: Dataset,
    partition: str,
    *,
    assets: list,
    instance: dg.DagsterInstance,
    resources: dict,
    tags: dict[str, str],
) -> PartitionResult:
    """Materialise the partition's harvested + harmonised assets; the run's outcome as plain data."""
    result = dg.materialize(
        assets,
        selection=[asset_key(d, "harvested"), asset_key(d, "harmonised")],
        partition_key=partition,
        instance=instance,
        resources=resources,
        raise_on_error=False,
        run_config=QUIET,
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


def step_error(result: dg.ExecuteInProcessResult):
    """The error of the first failed step, if a step failed (rather than the run itself)."""
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            error = event.step_failure_data.error
            return (
                error.cause
                if error.cls_name == "DagsterExecutionStepExecutionError" and error.cause
                else error
            )
    return None


def batch_rows(dataset: Dataset, producer: str, meta: dict) -> list[dict]:
    """One row per batch the partition's run made (older metadata carries only the last batch)."""
    if "batches" in meta:
        return [{"dataset": dataset.id, "producer": producer, **b} for b in meta["batches"].value]

    def value(key: str):
        item = meta.get(key)
        return item.value if item is not None else ""

    return [{"dataset": dataset.id, "producer": producer, **{k: value(k) for k in _BATCH_KEYS}}]


# --------------------------------------------------------------------------- the helper process

_HELPER: dict = {}


def helper_pool(registry: Registry, home: Path, history: bool) -> ProcessPoolExecutor:
    """One helper process (spawned: the caller has threads, which a fork would copy mid-flight)."""
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start_helper,
        initargs=(registry, str(home), history),
    )


def _start_helper(registry: Registry, home: str, history: bool) -> None:
    _HELPER.update(
        registry=registry,
        resources=platform_resources(Path(home)),
        instance=dg.DagsterInstance.get() if history else dg.DagsterInstance.ephemeral(),
    )


@cache
def _helper_assets(dataset_id: str) -> list:
    registry: Registry = _HELPER["registry"]
    return build_dataset_assets(registry, registry.dataset(dataset_id))


def run_in_helper(dataset_id: str, partition: str, tags: dict[str, str]) -> PartitionResult:
    """:func:`run_partition` in the helper process (the pool's task)."""
    registry: Registry = _HELPER["registry"]
    return run_partition(
        registry,
        registry.dataset(dataset_id),
        partition,
        assets=_helper_assets(dataset_id),
        instance=_HELPER["instance"],
        resources=_HELPER["resources"],
        tags=tags,
    )
