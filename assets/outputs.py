"""The territory-wide outputs: the DCAT-AP catalogue and the scoreboard, one asset each.

Both depend on every dataset's ``<dataset>/published`` asset: a dataset's publication writes only its
own files (and its line of the manifest), and the catalogue and scoreboard are then written once for
the whole territory, after the datasets, by the runner (``territoire run``) or the daemon.
"""

import dagster as dg

from assets.keys import asset_key
from assets.publish import write_portal_catalogue, write_portal_scoreboard
from resources.registry.model import Registry
from resources.store import Store
from resources.warehouse import Warehouse

CATALOGUE_KEY = dg.AssetKey(["territoire", "catalogue"])
SCOREBOARD_KEY = dg.AssetKey(["territoire", "scoreboard"])
OUTPUT_KEYS = (CATALOGUE_KEY, SCOREBOARD_KEY)

# As soon as any dataset's publication was materialised since the last time, once none is running.
# Dagster's ``eager()`` would also wait until no upstream is missing, and a dataset nobody has delivered
# yet is never published: the territory's catalogue would then never be written.
OUTPUT_AUTOMATION = (
    dg.AutomationCondition.in_latest_time_window()
    & dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("any dataset published")


def build_output_assets(registry: Registry) -> list[dg.AssetsDefinition]:
    """``territoire/catalogue`` and ``territoire/scoreboard``, downstream of every published dataset."""
    published = [asset_key(dataset, "published") for dataset in registry.datasets.values()]

    @dg.asset(
        key=CATALOGUE_KEY,
        deps=published,
        group_name="territoire",
        description="Le catalogue DCAT-AP du territoire (Turtle, JSON-LD, RDF/XML) : un jeu par publication.",
        kinds={"file"},
        automation_condition=OUTPUT_AUTOMATION,
    )
    def catalogue(store: Store) -> dg.MaterializeResult:
        store.publish_dir.mkdir(parents=True, exist_ok=True)
        paths = write_portal_catalogue(registry, store.publish_dir)
        return dg.MaterializeResult(
            metadata={
                "catalogue": dg.MetadataValue.path(str(paths[0])),
                "files": dg.MetadataValue.json([p.name for p in paths]),
            }
        )

    @dg.asset(
        key=SCOREBOARD_KEY,
        deps=published,
        group_name="territoire",
        description="Le tableau de bord public : qui a livré quoi, avec quelle qualité, et ce qui attend.",
        kinds={"html"},
        automation_condition=OUTPUT_AUTOMATION,
    )
    def scoreboard(store: Store, warehouse: Warehouse) -> dg.MaterializeResult:
        store.publish_dir.mkdir(parents=True, exist_ok=True)
        path = write_portal_scoreboard(registry, warehouse.batches(), store.publish_dir, warehouse.holds())
        return dg.MaterializeResult(metadata={"scoreboard": dg.MetadataValue.path(str(path))})

    return [catalogue, scoreboard]
