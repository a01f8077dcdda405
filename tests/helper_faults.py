"""Faults a test sends to the helper process: top-level functions, so the pool can pickle them by name
(the spawned helper imports this module from the same ``sys.path`` as the test)."""

from __future__ import annotations

import os
from typing import Any

from pipelines.partition_run import PartitionResult, run_in_helper


def commit_then_die(
    dataset_id: str, producer: str, tags: dict[str, str], fetched: Any = None
) -> PartitionResult:
    """The helper runs its partition to the end — the batch is committed — then dies before answering,
    as a process killed between its commit and its reply would."""
    run_in_helper(dataset_id, producer, tags, fetched)
    os._exit(1)
