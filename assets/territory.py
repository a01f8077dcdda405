"""The territory assets of one dataset: every producer's accepted rows, then their publication.

``<dataset>/territory`` consolidates the harmonised partitions into ``published.<dataset>``;
``<dataset>/published`` writes the files, the DCAT-AP catalogue and the scoreboard the portal reads.
"""

import dagster as dg

from assets.keys import asset_key
from assets.portal import publish_files, write_portal_catalogue, write_portal_scoreboard
from pipelines.registry import Dataset, Registry
from quality.schema import load_schema
from resources.store import Store
from resources.warehouse import Warehouse


def build_territory_assets(registry: Registry, dataset: Dataset) -> list[dg.AssetsDefinition]:
    harmonised_key = asset_key(dataset, "harmonised")
    territory_key = asset_key(dataset, "territory")

    @dg.asset(
        key=territory_key,
        deps=[harmonised_key],
        group_name=dataset.table,
        description=f"« {dataset.title} » for the whole territory: every producer's accepted rows.",
        kinds={"postgres"},
        automation_condition=dg.AutomationCondition.eager(),
    )
    def territory(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        schema = load_schema(dataset.schema_ref)
        warehouse.ensure_dataset(dataset.table, schema)
        rows = warehouse.publish(dataset.table, schema)
        return dg.MaterializeResult(metadata={"rows": rows, "table": f"published.{dataset.table}"})

    @dg.asset(
        key=asset_key(dataset, "published"),
        deps=[territory_key],
        group_name=dataset.table,
        description=f"« {dataset.title} » as files (CSV, Parquet, GeoJSON) and in the DCAT-AP catalogue.",
        kinds={"csv", "parquet", "file"},
        automation_condition=dg.AutomationCondition.eager(),
    )
    def published(
        context: dg.AssetExecutionContext, store: Store, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        schema = load_schema(dataset.schema_ref)
        frame = warehouse.read_table("published", dataset.table)
        contributors = [registry.producer(p).name for p in sorted(frame["producer"].unique())]
        store.publish_dir.mkdir(parents=True, exist_ok=True)
        files = publish_files(frame, dataset, schema, contributors, store.publish_dir)
        catalogue = write_portal_catalogue(registry, store.publish_dir)
        scoreboard = write_portal_scoreboard(registry, warehouse.batches(), store.publish_dir)
        return dg.MaterializeResult(
            metadata={
                "rows": len(frame),
                "files": dg.MetadataValue.json(
                    [{"name": f.path.name, "bytes": f.byte_size, "sha256": f.sha256} for f in files]
                ),
                "catalogue": dg.MetadataValue.path(str(catalogue[0])),
                "scoreboard": dg.MetadataValue.path(str(scoreboard)),
            }
        )

    return [territory, published]
