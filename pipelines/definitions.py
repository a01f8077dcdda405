"""The code location: every asset, job, sensor and schedule, generated from the registry."""

from __future__ import annotations

import dagster as dg

from assets.keys import asset_key
from assets.outputs import build_output_assets
from assets.producer import build_dataset_assets
from pipelines.schedules import build_schedules
from pipelines.sensors import build_inbox_sensor, ingest_job_name
from resources.harvest.resource import Harvester
from resources.registry.load import load_registry
from resources.registry.model import Registry
from resources.store import Store
from resources.warehouse import Warehouse


def build_ingest_jobs(registry: Registry) -> list:
    return [
        dg.define_asset_job(
            ingest_job_name(dataset.table),
            selection=dg.AssetSelection.assets(
                asset_key(dataset, "harvested"), asset_key(dataset, "harmonised")
            ),
            description=f"Archive, harmonise, contrôle et charge « {dataset.title} » d'un producteur.",
        )
        for dataset in registry.datasets.values()
    ]


def build_definitions(registry: Registry | None = None) -> dg.Definitions:
    registry = registry or load_registry()
    assets = [a for dataset in registry.datasets.values() for a in build_dataset_assets(registry, dataset)]
    assets += build_output_assets(registry)
    jobs = build_ingest_jobs(registry)
    return dg.Definitions(
        assets=assets,
        jobs=jobs,
        sensors=[
            build_inbox_sensor(registry, jobs),
            dg.AutomationConditionSensorDefinition(
                "publication_sensor",
                target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING,
            ),
        ],
        schedules=build_schedules(registry),
        resources={"store": Store(), "warehouse": Warehouse(), "harvester": Harvester()},
    )


defs = build_definitions()
