"""Asset factories: one asset graph per dataset of the registry, never written by hand.

``<dataset>/harvested`` → ``<dataset>/harmonised`` (both partitioned by producer, built here) →
``<dataset>/territory`` → ``<dataset>/published`` (built in ``assets/territory.py``). The assets are
thin: they move files and frames between the store, the pure transforms and the warehouse, and yield
the quality checks of the partition they ran.
"""

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd

from assets.dataset_schema import dataset_schema
from assets.failure import failure_message, is_transient, stage
from assets.ingest import Ingested, ingest_file
from assets.keys import asset_key, partitions_for
from assets.read.gtfs import read_gtfs_stops
from assets.territory import build_territory_assets
from pipelines.registry import Dataset, Registry
from pipelines.schedules import harvest_pool
from quality.coverage import ALLOWED_AGE, FREQUENCY_LABELS_FR
from quality.identity import ProducerIdentity
from quality.privacy import PrivacyRules
from quality.reports.batch import write_batch_report
from quality.schema import TableSchema
from resources.harvest.resource import Harvester
from resources.store import ArchivedFile, Store
from resources.warehouse import BatchRecord, Warehouse

CONSERVATION = "conservation"
STRUCTURE = "structure"
VALID_SHARE = "part_lignes_valides"
FRESH = "fraicheur"
PRODUCER = "producteur"
# Below this share of valid rows a batch is flagged: the file probably has a systematic problem
# (wrong columns, wrong schema) rather than a few bad rows.
MIN_VALID_SHARE = 0.5


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
                f"({FREQUENCY_LABELS_FR.get(dataset.frequency, dataset.frequency)})",
            ),
        ],
    )
    def harmonised(context: dg.AssetExecutionContext, store: Store, warehouse: Warehouse):
        producer = context.partition_key
        schema = dataset_schema(dataset)
        warehouse.ensure_dataset(dataset.table, schema)
        reports = []
        for archived in pending_files(store, warehouse, dataset, producer):
            try:
                reports.append(load_batch(registry, dataset, schema, store, warehouse, archived))
            except Exception as exc:  # a platform bug on one file: recorded, the others go on
                if is_transient(exc):
                    raise  # an outage: the partition fails and its files are retried next run
                reports.append(record_failure(registry, dataset, store, warehouse, archived, exc))
                context.log.error(reports[-1]["message"])
            context.log.info(_summary(reports[-1]))
        yield dg.MaterializeResult(metadata=_batch_metadata(reports))
        yield from _checks(harmonised_key, reports)
        yield _freshness(harmonised_key, dataset, warehouse.batches(dataset.table, producer))
        failed = [r for r in reports if r["status"] == "failed"]
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
    previous = store.archived(producer, dataset.id)
    last = previous[-1] if previous else None
    validators = (
        {"etag": last.http_etag, "last_modified": last.http_last_modified, "sha256": last.sha256}
        if last
        else None
    )
    return {"kind": source.kind, **source.settings}, validators


def pending_files(store: Store, warehouse: Warehouse, dataset: Dataset, producer: str) -> list[ArchivedFile]:
    """Receipts of the partition that no batch has taken yet, in drop order.

    A receipt is taken once; the same bytes dropped again are a new receipt, hence a new batch that
    makes them the producer's current data again.
    """
    seen = warehouse.sequences_seen(dataset.table, producer)
    return [a for a in store.archived(producer, dataset.id) if a.sequence not in seen]


def load_batch(
    registry: Registry,
    dataset: Dataset,
    schema: TableSchema,
    store: Store,
    warehouse: Warehouse,
    archived: ArchivedFile,
) -> dict[str, Any]:
    """One archived file into the warehouse as one batch; returns its report."""
    batch_id = f"{dataset.id}-{archived.producer}-{archived.sha256[:12]}"
    if warehouse.batch_seen(dataset.table, archived.producer, archived.sha256):
        # The same bytes sent again: a batch of its own, named by its place in the drop sequence.
        batch_id = f"{batch_id}-n{archived.sequence}"
    result = ingest_archived(registry, dataset, schema, archived, batch_id)
    producer = registry.producer(archived.producer)
    report = result.report
    record = BatchRecord(
        batch_id=batch_id,
        producer=producer.id,
        dataset=dataset.table,
        file_name=archived.file_name,
        sha256=archived.sha256,
        received_at=archived.received,
        rows_read=report["rows_read"],
        rows_accepted=report["rows_accepted"],
        rows_quarantined=report["rows_quarantined"],
        status=report["status"],
        message=report["message"],
        schema_version=report.get("schema_version_read") or schema.version,
        source_url=archived.source_url,
        http_etag=archived.http_etag,
        http_last_modified=archived.http_last_modified,
        sequence=archived.sequence,
    )
    with stage("load"):
        if result.status == "refused":
            warehouse.record_refused(record)
        else:
            warehouse.replace_partition(schema, dataset.table, record, result.accepted, result.quarantined)
    # Only now that the batch is committed may the inbox copy go: the archive holds the bytes. Before
    # the report: a report that cannot be written (disk full) is written again by the next run's
    # reconciliation, whereas an inbox copy left behind would wait there forever.
    store.remove_from_inbox(producer.id, dataset.id, archived.sequence, archived.sha256)
    html, _json, _csv = write_batch_report(report, store.reports_dir)
    report["report_path"] = str(html)
    return report


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

    def __init__(self, reports: list[dict[str, Any]]) -> None:
        self.reports = reports
        super().__init__("\n".join(r["message"] for r in reports))


def record_failure(
    registry: Registry,
    dataset: Dataset,
    store: Store,
    warehouse: Warehouse,
    archived: ArchivedFile,
    exc: BaseException,
) -> dict[str, Any]:
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
    return {
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


def _summary(report: dict[str, Any]) -> str:
    return (
        f"{report['file_name']}: {report['status']}, read {report['rows_read']}, "
        f"accepted {report['rows_accepted']}, quarantined {report['rows_quarantined']}"
    )


def _batch_metadata(reports: list[dict[str, Any]]) -> dict[str, Any]:
    if not reports:
        return {"new_batches": 0}
    last = reports[-1]
    return {
        "new_batches": len(reports),
        "batch_id": last["batch_id"],
        "file_name": last["file_name"],
        "status": last["status"],
        "rows_read": last["rows_read"],
        "rows_accepted": last["rows_accepted"],
        "rows_quarantined": last["rows_quarantined"],
        "schema_version_read": str(last.get("schema_version_read") or ""),
        "report": dg.MetadataValue.path(last["report_path"]),
        "message": last["message"] or "",
        "refusal_reason": str(last.get("refusal_reason") or ""),
        # Every batch of the run, for `territoire run`'s table (a partition may receive several files).
        "batches": dg.MetadataValue.json(
            [
                {k: r[k] for k in ("file_name", "status", "rows_read", "rows_accepted", "rows_quarantined")}
                | {
                    "message": r["message"] if r["status"] == "failed" else "",
                    "refusal_reason": str(r.get("refusal_reason") or ""),
                }
                for r in reports
            ]
        ),
    }


def _checks(key: dg.AssetKey, reports: list[dict[str, Any]]):
    """The partition's checks, on the batches this run loaded (a run with none passes vacuously)."""
    conserved = all(r["rows_read"] == r["rows_accepted"] + r["rows_quarantined"] for r in reports)
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=CONSERVATION,
        passed=conserved,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"batches": len(reports)},
    )
    missing = sorted({s["column"] for r in reports for s in r["structure"] if s["level"] == "error"})
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=STRUCTURE,
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"missing_required_columns": dg.MetadataValue.json(missing)},
    )
    foreign = [
        {"file": r["file_name"], "column": f["column"], "value": f["value"], "rows": f["rows"]}
        for r in reports
        for f in r.get("identity") or []
    ]
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=PRODUCER,
        passed=not foreign,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"other_authorities": dg.MetadataValue.json(foreign)},
    )
    loaded = [r for r in reports if r["status"] == "loaded"]
    read = sum(r["rows_read"] for r in loaded)
    share = (sum(r["rows_accepted"] for r in loaded) / read) if read else 1.0
    refused = [r["file_name"] for r in reports if r["status"] == "refused"]
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=VALID_SHARE,
        passed=share >= MIN_VALID_SHARE and not refused,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"valid_share": float(share), "refused_files": dg.MetadataValue.json(refused)},
    )


def _freshness(key: dg.AssetKey, dataset: Dataset, batches: pd.DataFrame) -> dg.AssetCheckResult:
    """Late when the last loaded delivery is older than the dataset's frequency allows (a warning)."""
    loaded = batches[batches["status"] == "loaded"] if not batches.empty else batches
    last = pd.Timestamp(loaded["received_at"].max()) if not loaded.empty else None
    allowed = ALLOWED_AGE.get(dataset.frequency)
    late = last is None or (allowed is not None and datetime.now(UTC) - last.to_pydatetime() > allowed)
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=FRESH,
        passed=not late,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "last_delivery": last.isoformat() if last is not None else "jamais",
            "frequency": dataset.frequency,
        },
    )
