"""The helper process that shares ``territoire run``'s tasks (see ``pipelines/partition_run.py``).

Kept apart from Dagster's imports: the command line starts the helper as soon as it sees drops waiting,
before it imports the orchestrator itself, so that the helper's own imports (seconds) run on the other
core while this process starts the warehouse, asks the feeds and imports Dagster.
"""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resources.registry.model import Registry

# Below this many partitions the helper's start (≈ 3 s of imports on the idle core) is not worth it.
MIN_SHARED_PARTITIONS = 8


def helper_pool(registry: Registry | None, home: Path, history: bool) -> ProcessPoolExecutor:
    """One helper process (spawned: the caller has threads, which a fork would copy mid-flight).

    ``registry`` None: the helper loads the registry as the command line does (``load_registry()``),
    which spares the caller building it first. The process starts at the pool's first task:
    :func:`start_helper` sends an empty one."""
    return ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_start,
        initargs=(registry, str(home), history),
    )


def start_helper(pool: ProcessPoolExecutor) -> None:
    pool.submit(os.getpid)


def _start(registry: Registry | None, home: str, history: bool) -> None:
    from pipelines.partition_run import start_worker  # the heavy imports, in the helper only
    from pipelines.quick_exit import skip_final_collection
    from resources.registry.load import load_registry

    skip_final_collection()  # the run waits for this process to end
    start_worker(registry or load_registry(), Path(home), history)
