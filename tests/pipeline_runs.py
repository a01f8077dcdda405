"""Run one dataset's assets through Dagster, as the platform does: the helper the end-to-end tests share.

``PipelineRuns.ingest(producer)`` materialises the producer's partition of ``<dataset>/harvested`` and
``<dataset>/harmonised``; ``publish()`` materialises ``<dataset>/territory`` and ``<dataset>/published``.
Real resources, an in-memory Dagster instance.
"""

from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from assets.keys import asset_key
from assets.producer import build_dataset_assets
from resources.harvest.resource import Harvester
from resources.registry.load import load_registry
from resources.registry.model import Dataset, Registry
from resources.store import Store
from resources.warehouse import Warehouse


@dataclass
class PipelineRuns:
    registry: Registry
    dataset: Dataset
    store: Store
    warehouse: Warehouse
    instance: dg.DagsterInstance = field(default_factory=dg.DagsterInstance.ephemeral)

    @property
    def resources(self) -> dict:
        return {"store": self.store, "warehouse": self.warehouse, "harvester": Harvester()}

    @property
    def assets(self) -> list[dg.AssetsDefinition]:
        return build_dataset_assets(self.registry, self.dataset)

    def ingest(self, producer: str, *, raise_on_error: bool = False) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            self.assets,
            selection=[asset_key(self.dataset, "harvested"), asset_key(self.dataset, "harmonised")],
            partition_key=producer,
            resources=self.resources,
            instance=self.instance,
            raise_on_error=raise_on_error,
        )

    def publish(self, *, raise_on_error: bool = True) -> dg.ExecuteInProcessResult:
        return dg.materialize(
            self.assets,
            selection=[asset_key(self.dataset, "territory"), asset_key(self.dataset, "published")],
            resources=self.resources,
            instance=self.instance,
            raise_on_error=raise_on_error,
        )


def pipeline_runs(home: Path | str, url: str, dataset: str | Dataset = "subventions") -> PipelineRuns:
    """Runs of ``dataset`` (an id, or a Dataset with overridden rules) against the warehouse at ``url``."""
    registry = load_registry()
    chosen = registry.dataset(dataset) if isinstance(dataset, str) else dataset
    warehouse = Warehouse(url=url, home=str(home))
    warehouse.setup()
    return PipelineRuns(registry, chosen, Store(home=str(home)), warehouse)
