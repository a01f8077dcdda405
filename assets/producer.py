"""The per-producer assets of a dataset, built from the registry, never written by hand.

``<dataset>/harvested`` → ``<dataset>/harmonised`` (both partitioned by producer, built here) →
``<dataset>/territory`` → ``<dataset>/published`` (built in ``assets/territory.py``). The assets are
thin: they move files and frames between the store, the pure transforms and the warehouse, and yield
the quality checks of the partition they ran.
"""

from pathlib import Path
from typing import Any

import dagster as dg

from assets.dataset_schema import dataset_schema
from assets.harmonise import Ingested, failure_message, ingest_file, is_transient, stage
from assets.keys import asset_key, harvest_pool, partitions_for
from assets.partition_checks import (
    CONSERVATION,
    FRESH,
    MIN_VALID_SHARE,
    PRODUCER,
    STRUCTURE,
    VALID_SHARE,
    batch_metadata,
    freshness_check,
    partition_checks,
    summary,
)
from assets.read.gtfs import read_gtfs_stops
from assets.territory import build_territory_assets
from quality.frequency import LABELS_FR
from quality.identity import ProducerIdentity
from quality.outcome import BatchOutcome
from quality.privacy import PrivacyRules
from quality.reports.batch import write_batch_report
from quality.schema import TableSchema
from resources.harvest.resource import Harvester
from resources.receipts import validators
from resources.registry.model import Dataset, Registry
from resources.store import ArchivedFile, Store
from resources.warehouse import BatchRecord, Warehouse


def build_dataset_assets(registry: Registry, dataset: Dataset) -> list[dg.AssetsDefinition]:
    """The four assets of one dataset, with their checks."""
    partitions = partitions_for(dataset)
    harvested_key = asset_key(dataset, "harvested")
    harmonised_key = asset_key(dataset, "harmonised")

    @dg.asset(
        key=harvested_key,
        partitions_def=partitions,
        # Harvests of one host share a pool, so a producer's server never sees more than the pool's limit.
        pool=harvest_pool(dataset),
        group_name=dataset.table,
        description=f"Fichiers reçus pour « {dataset.title} », archivés tels quels sous leur sha256.",
        kinds={"python", "file"},
    )
    def harvested(
        context: dg.AssetExecutionContext, store: Store, harvester: Harvester
    ) -> dg.MaterializeResult:
        producer = context.partition_key
        archived = collect_files(store, harvester, dataset, producer)
        return dg.MaterializeResult(
            metadata={
                "files_archived": len(archived),
                "files": dg.MetadataValue.json([{"name": a.file_name, "sha256": a.sha256} for a in archived]),
            }
        )

    @dg.asset(
        key=harmonised_key,
        deps=[harvested_key],
        partitions_def=partitions,
        group_name=dataset.table,
        description=(
            f"« {dataset.title} » harmonisé au schéma {dataset.schema_ref}, une partition par producteur."
        ),
        kinds={"python", "postgres"},
        check_specs=[
            dg.AssetCheckSpec(
                CONSERVATION,
                asset=harmonised_key,
                blocking=True,
                description="lignes lues = lignes acceptées + lignes mises de côté, pour chaque lot",
            ),
            dg.AssetCheckSpec(
                STRUCTURE,
                asset=harmonised_key,
                description="toutes les colonnes obligatoires du schéma sont présentes",
            ),
            dg.AssetCheckSpec(
                VALID_SHARE,
                asset=harmonised_key,
                description=f"au moins {MIN_VALID_SHARE:.0%} des lignes sont valides",
            ),
            dg.AssetCheckSpec(
                PRODUCER,
                asset=harmonised_key,
                description="le fichier désigne bien son producteur comme autorité (SIRET, INSEE)",
            ),
            dg.AssetCheckSpec(
                FRESH,
                asset=harmonised_key,
                description="la dernière livraison est plus récente que sa fréquence ne l'exige "
                f"({LABELS_FR.get(dataset.frequency, dataset.frequency)})",
            ),
        ],
    )
    def harmonised(context: dg.AssetExecutionContext, store: Store, warehouse: Warehouse):
        producer = context.partition_key
        schema = dataset_schema(dataset)
        warehouse.ensure_dataset(dataset.table, schema)
        outcomes: list[BatchOutcome] = []
        for archived in pending_files(store, warehouse, dataset, producer):
            try:
                outcomes.append(load_batch(registry, dataset, schema, store, warehouse, archived))
            except Exception as exc:  # a platform bug on one file: recorded, the others go on
                if is_transient(exc):
                    raise  # an outage: the partition fails and its files are retried next run
                outcomes.append(record_failure(registry, dataset, store, warehouse, archived, exc))
                context.log.error(outcomes[-1].message)
            context.log.info(summary(outcomes[-1]))
        yield dg.MaterializeResult(metadata=batch_metadata(outcomes))
        yield from partition_checks(harmonised_key, outcomes)
        yield freshness_check(harmonised_key, dataset, warehouse.batches(dataset.table, producer))
        failed = [o for o in outcomes if o.status == "failed"]
        if failed:
            # After the checks and the other files: the partition is marked failed so the platform
            # bug is seen (Dagster UI, `territoire run` exit code 3), and nothing else is lost.
            raise FailedBatches(failed)

    return [harvested, harmonised, *build_territory_assets(registry, dataset)]


def collect_files(store: Store, harvester: Harvester, dataset: Dataset, producer: str) -> list[ArchivedFile]:
    """Archive what the producer's source holds now: the inbox for a drop, the feed otherwise.

    A feed that has not changed (HTTP 304, or the same bytes) archives nothing, so no batch follows.
    A feed that fails raises here and fails this partition only.
    """
    source = dataset.source_for(producer)
    if source is None:
        return []
    if source.kind == "drop":
        return [
            store.archive_file(producer, dataset.id, path, sequence=store.drop_sequence(path))
            for path in store.inbox_files(producer, dataset.id)
        ]
    fetched = harvester.fetch(*harvest_request(store, dataset, producer))
    if fetched.not_modified:
        return []
    return [
        store.archive_bytes(
            producer,
            dataset.id,
            fetched.content,
            fetched.file_name,
            source_url=fetched.source_url,
            http_etag=fetched.etag,
            http_last_modified=fetched.last_modified,
        )
    ]


def harvest_request(
    store: Store, dataset: Dataset, producer: str
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """What a harvested source's fetch is given: its registry entry, and the validators of the last
    file archived from it (so an unchanged feed answers 304)."""
    source = dataset.source_for(producer)
    if source is None or source.kind == "drop":
        raise ValueError(f"{dataset.id}/{producer} n'est pas une source moissonnée")
    return {"kind": source.kind, **source.settings}, validators(store.archived(producer, dataset.id))


def pending_files(
    store: Store, warehouse: Warehouse, dataset: Dataset, producer: str, seen: set[int] | None = None
) -> list[ArchivedFile]:
    """Receipts of the partition that no batch has taken yet, in drop order.

    A receipt is taken once; the same bytes dropped again are a new receipt, hence a new batch that
    makes them the producer's current data again. ``seen``: the partition's taken sequence numbers,
    when the caller read them for every partition at once.
    """
    if seen is None:
        seen = warehouse.sequences_seen(dataset.table, producer)
    return [a for a in store.archived(producer, dataset.id) if a.sequence not in seen]


def load_batch(
    registry: Registry,
    dataset: Dataset,
    schema: TableSchema,
    store: Store,
    warehouse: Warehouse,
    archived: ArchivedFile,
) -> BatchOutcome:
    """One archived file into the warehouse as one batch; returns its outcome."""
    batch_id = f"{dataset.id}-{archived.producer}-{archived.sha256[:12]}"
    if warehouse.batch_seen(dataset.table, archived.producer, archived.sha256):
        # The same bytes sent again: a batch of its own, named by its place in the drop sequence.
        batch_id = f"{batch_id}-n{archived.sequence}"
    result = ingest_archived(registry, dataset, schema, archived, batch_id)
    producer = registry.producer(archived.producer)
    outcome = BatchOutcome.from_report(result.report)
    record = BatchRecord(
        batch_id=batch_id,
        producer=producer.id,
        dataset=dataset.table,
        file_name=archived.file_name,
        sha256=archived.sha256,
        received_at=archived.received,
        rows_read=outcome.rows_read,
        rows_accepted=outcome.rows_accepted,
        rows_quarantined=outcome.rows_quarantined,
        status=outcome.status,
        message=outcome.message,
        schema_version=outcome.schema_version_read or schema.version,
        source_url=archived.source_url,
        http_etag=archived.http_etag,
        http_last_modified=archived.http_last_modified,
        sequence=archived.sequence,
    )
    with stage("load"):
        if outcome.status == "refused":
            warehouse.record_refused(record)
        else:
            warehouse.replace_partition(schema, dataset.table, record, result.accepted, result.quarantined)
    # Only now that the batch is committed may the inbox copy go: the archive holds the bytes. Before
    # the report: a report that cannot be written (disk full) is written again by the next run's
    # reconciliation, whereas an inbox copy left behind would wait there forever.
    store.remove_from_inbox(producer.id, dataset.id, archived.sequence, archived.sha256)
    html, _json, _csv = write_batch_report(outcome.to_json(), store.reports_dir)
    outcome.report_path = str(html)
    return outcome


def ingest_archived(
    registry: Registry, dataset: Dataset, schema: TableSchema, archived: ArchivedFile, batch_id: str
) -> Ingested:
    """Read, harmonise and validate one archived file (no warehouse write): the same bytes always give
    the same result, so a lost batch report can be written again from the archive."""
    producer = registry.producer(archived.producer)
    source = dataset.source_for(producer.id)
    context = {
        "batch_id": batch_id,
        "producer": producer.id,
        "producer_name": producer.name,
        "dataset": dataset.id,
        "dataset_title": dataset.title,
        "file_name": archived.file_name,
        "sha256": archived.sha256,
        "received_at": archived.received_at,
    }
    return ingest_file(
        Path(archived.path),
        schema,
        context=context,
        mapping=source.columns if source else None,
        sheet=source.sheet if source else None,
        privacy=PrivacyRules.from_config(dataset.privacy),
        reader=read_gtfs_stops if source and source.kind == "gtfs" else None,
        producer=ProducerIdentity.from_registry(
            producer, [p.insee for p in registry.producers if p.kind == "commune" and p.insee]
        ),
    )


class FailedBatches(Exception):
    """One or more files of the partition failed on a platform bug (their batches are recorded)."""

    def __init__(self, outcomes: list[BatchOutcome]) -> None:
        self.outcomes = outcomes
        super().__init__("\n".join(o.message for o in outcomes))


def record_failure(
    registry: Registry,
    dataset: Dataset,
    store: Store,
    warehouse: Warehouse,
    archived: ArchivedFile,
    exc: BaseException,
) -> BatchOutcome:
    """``archived`` as a ``failed`` batch: the error and its stage in ``meta.batches``, the bytes kept
    in the archive, the inbox copy set aside; the producer's data in the warehouse is not touched."""
    producer = registry.producer(archived.producer)
    batch_id = f"{dataset.id}-{producer.id}-{archived.sha256[:12]}"
    if warehouse.batch_seen(dataset.table, producer.id, archived.sha256):
        batch_id = f"{batch_id}-n{archived.sequence}"  # as load_batch names a re-drop
    message = failure_message(archived.file_name, exc)
    record = BatchRecord(
        batch_id=batch_id,
        producer=producer.id,
        dataset=dataset.table,
        file_name=archived.file_name,
        sha256=archived.sha256,
        received_at=archived.received,
        rows_read=0,
        rows_accepted=0,
        rows_quarantined=0,
        status="failed",
        message=message,
        schema_version=None,
        source_url=archived.source_url,
        http_etag=archived.http_etag,
        http_last_modified=archived.http_last_modified,
        sequence=archived.sequence,  # taken: a failed receipt is not retried at every run
    )
    warehouse.record_failed(record)
    for path in store.inbox_copies(producer.id, dataset.id, archived.sequence, archived.sha256):
        store.set_aside(producer.id, dataset.id, path)
    return BatchOutcome.from_report(
        {
            "batch_id": batch_id,
            "producer": producer.id,
            "dataset": dataset.id,
            "file_name": archived.file_name,
            "sha256": archived.sha256,
            "status": "failed",
            "message": message,
            "rows_read": 0,
            "rows_accepted": 0,
            "rows_quarantined": 0,
            "structure": [],
            "report_path": "",
        }
    )
