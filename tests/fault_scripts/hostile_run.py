"""Materialise the ``subventions`` ingest partition of each producer whose inbox holds a hostile file.

Usage: ``python hostile_run.py <home> <url> <producer>...``; prints one JSON line per partition. Run
in a child process so the test can measure its peak memory (``RUSAGE_CHILDREN``).
"""

from __future__ import annotations

import json
import sys

import dagster as dg

from assets.factory import build_dataset_assets
from assets.keys import asset_key
from pipelines.registry import load_registry
from resources.harvest.resource import Harvester
from resources.store import Store
from resources.warehouse import Warehouse


def main(home: str, url: str, producers: list[str]) -> None:
    registry = load_registry()
    dataset = registry.dataset("subventions")
    resources = {
        "store": Store(home=home),
        "warehouse": Warehouse(url=url, home=home),
        "harvester": Harvester(),
    }
    assets = build_dataset_assets(registry, dataset)
    instance = dg.DagsterInstance.ephemeral()
    for producer in producers:
        result = dg.materialize(
            assets,
            selection=[asset_key(dataset, "harvested"), asset_key(dataset, "harmonised")],
            partition_key=producer,
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )
        print(json.dumps({"producer": producer, "success": result.success}), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3:])
