"""The territory assets of one dataset: every producer's accepted rows, then their publication.

``<dataset>/territory`` consolidates the harmonised partitions into ``published.<dataset>``;
``<dataset>/published`` writes the files, the DCAT-AP catalogue and the scoreboard the portal reads.
"""

import dagster as dg

from assets.dataset_schema import dataset_schema
from assets.keys import asset_key
from assets.portal import publish_files, write_portal_catalogue, write_portal_scoreboard
from pipelines.registry import Dataset, Registry
from quality.gate import GEOMETRY_TYPES, build_suite, check_name, plan_suite, run_gate
from quality.reports.holds import annotate_reports, approve_command
from resources.store import Store
from resources.warehouse import Consolidation, Warehouse

# The row-count expectation when nothing bounds it: a first publication may be of any size.
_NO_CEILING = 2**31 - 1

# When the daemon publishes the territory: as soon as any producer's partition was materialised since
# the last time. Dagster's ``eager()`` also waits until no upstream partition is missing, and a
# producer that never sent anything is a missing partition forever, so a dropped file would be
# harmonised by the sensor and never published. Nor does it publish a dataset nobody delivered
# (``eager()`` requests a missing asset at once): the first delivery is what triggers it.
TERRITORY_AUTOMATION = (
    dg.AutomationCondition.in_latest_time_window()
    & dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("any producer's partition updated")


def build_territory_assets(registry: Registry, dataset: Dataset) -> list[dg.AssetsDefinition]:
    harmonised_key = asset_key(dataset, "harmonised")
    territory_key = asset_key(dataset, "territory")
    schema = dataset_schema(dataset)
    consolidation = Consolidation.from_registry(dataset.consolidation, schema)
    # A geo dataset is one whose schema has a geometry field; lon/lat pairs (``dataset.geometry``) are
    # not in the warehouse tables yet, so they cannot be checked there.
    geo = any(f.type in GEOMETRY_TYPES for f in schema.fields)
    # The same plan at definition time (names only) and at run time (with the row range): one check
    # per expectation, each blocking, so a failed gate stops the published asset downstream.
    planned = plan_suite(schema, geo=geo, key=consolidation.gate_key, expected_rows=(0, _NO_CEILING))
    check_specs = [
        dg.AssetCheckSpec(check_name(p.name), asset=territory_key, description=p.description, blocking=True)
        for p in planned
    ]

    @dg.asset(
        key=territory_key,
        deps=[harmonised_key],
        group_name=dataset.table,
        description=(
            f"« {dataset.title} » pour tout le territoire : les lignes acceptées de chaque producteur, "
            "doublons entre producteurs résolus, contrôlées par la porte qualité, publiées en version "
            "numérotée."
        ),
        kinds={"postgres"},
        check_specs=check_specs,
        automation_condition=TERRITORY_AUTOMATION,
    )
    def territory(
        context: dg.AssetExecutionContext, warehouse: Warehouse, store: Store
    ) -> dg.MaterializeResult:
        with warehouse.publishing(dataset.table):
            return _publish_territory(context, warehouse, store)

    def _publish_territory(
        context: dg.AssetExecutionContext, warehouse: Warehouse, store: Store
    ) -> dg.MaterializeResult:
        warehouse.ensure_dataset(dataset.table, schema)
        candidate = warehouse.build_candidate(dataset.table, schema, consolidation)
        current = warehouse.current_rows(dataset.table)
        # An empty candidate when a version exists is a failed harvest, never a change of the territory.
        # A large drop of one producer is the hold's business (it waits for the data team's approval),
        # not the gate's; a candidate ten times the current version means rows were multiplied.
        expected = (1, max(10 * current, 1_000)) if current else (0, _NO_CEILING)
        suite = build_suite(
            schema, candidate.table, geo=geo, key=consolidation.gate_key, expected_rows=expected
        )
        gate = run_gate(warehouse.engine(), candidate.schema_name, candidate.table, suite)
        checks = [
            dg.AssetCheckResult(
                check_name=check_name(outcome.name),
                passed=outcome.success,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={"observed": _observed(outcome.observed), **_details(outcome.details)},
            )
            for outcome in gate.results
        ]
        metadata: dict = {
            "candidate_rows": candidate.rows,
            "duplicates_resolved": candidate.duplicates,
            "consolidation": consolidation.rule,
            "gate_seconds": round(gate.seconds, 2),
        }
        if not gate.success:
            failed = ", ".join(o.name for o in gate.failures)
            context.log.error(f"Porte de publication fermée ({failed}) : la version courante reste publiée.")
            return dg.MaterializeResult(metadata={**metadata, "status": "blocked"}, check_results=checks)
        publication = warehouse.publish_candidate(
            dataset.table,
            schema,
            consolidation,
            max_removed_share=float(dataset.publication.get("max_removed_share", 0.5)),
        )
        holds = warehouse.holds(dataset.table)
        annotate_reports(store.reports_dir, dataset.id, holds, warehouse.current_batches(dataset.table))
        for held in holds:
            command = approve_command(dataset.id, held["version"])
            for hold in held["holds"]:
                context.log.warning(
                    f"Changement retenu (version {held['version']}) : {hold['reason']} ; « {command} »."
                )
        return dg.MaterializeResult(
            metadata={
                **metadata,
                "status": publication.status,
                "version": publication.version,
                "rows": publication.rows,
                "held_for": dg.MetadataValue.json(publication.held_for),
                "holds": dg.MetadataValue.json(
                    [
                        {
                            "version": h["version"],
                            "producer": x["producer"],
                            "reason": x["reason"],
                            "approve": approve_command(dataset.id, h["version"]),
                        }
                        for h in holds
                        for x in h["holds"]
                    ]
                ),
                "diff": dg.MetadataValue.md(diff_markdown(publication.diff)),
                "table": f"published.{dataset.table}",
            },
            check_results=checks,
        )

    @dg.asset(
        key=asset_key(dataset, "published"),
        deps=[territory_key],
        group_name=dataset.table,
        description=f"« {dataset.title} » en fichiers (CSV, Parquet, GeoJSON) et dans le catalogue DCAT-AP.",
        kinds={"csv", "parquet", "file"},
        automation_condition=dg.AutomationCondition.eager(),
    )
    def published(
        context: dg.AssetExecutionContext, store: Store, warehouse: Warehouse
    ) -> dg.MaterializeResult:
        # Under the territory run's lock, so the rows and the version they are read with match.
        with warehouse.publishing(dataset.table):
            frame = warehouse.read_table("published", dataset.table)
            current = warehouse.current_publication(dataset.table)
        contributors = [registry.producer(p).name for p in sorted(frame["producer"].unique())]
        store.publish_dir.mkdir(parents=True, exist_ok=True)
        files = publish_files(frame, dataset, schema, contributors, store.publish_dir, version=current)
        # After an approval (which rewrites only the files), the reports stop saying « held ».
        annotate_reports(
            store.reports_dir,
            dataset.id,
            warehouse.holds(dataset.table),
            warehouse.current_batches(dataset.table),
        )
        catalogue = write_portal_catalogue(registry, store.publish_dir)
        scoreboard = write_portal_scoreboard(
            registry, warehouse.batches(), store.publish_dir, warehouse.holds()
        )
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


def diff_markdown(diff: list[dict]) -> str:
    """The per-producer diff as a Markdown table for the Dagster UI."""
    lines = [
        "| producteur | lignes publiées | candidate | ajoutées | retirées | modifiées |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    columns = ("producer", "current", "candidate", "added", "removed", "changed")
    lines += ["| " + " | ".join(str(d[c]) for c in columns) + " |" for d in diff]
    return "\n".join(lines)


def _details(details: dict) -> dict:
    return {"details": dg.MetadataValue.json(details)} if details else {}


def _observed(value):
    # JSON metadata takes only mappings and lists; a count stays a number.
    if isinstance(value, (dict, list)):
        return dg.MetadataValue.json(value)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else str(value)
