"""The warehouse and the files never disagree for long: what every run checks first.

The warehouse is the truth (a publication is a committed transaction); the files under ``publish/``
and the batch reports are projections of it written afterwards, so a disk full, a crash or a
PostgreSQL stop between the commit and the files leaves them missing, partial or older. Each run
compares them with the warehouse and says what to rewrite:

- a dataset whose current version has no manifest entry, an entry of another version, a file
  missing or whose size or sha256 differ from the manifest, or a catalogue or scoreboard missing or
  older than the manifest: its files are rewritten from ``published.<dataset>``;
- a batch whose report is missing: the report is written again from the archived bytes (reading
  them again gives the same report).
"""

from __future__ import annotations

from assets.dataset_schema import dataset_schema
from assets.producer import ingest_archived
from pipelines.pending import read_manifest, stale_files
from quality.outcome import BatchOutcome
from quality.reports.batch import write_batch_report
from quality.reports.paths import report_paths
from resources.registry.model import Registry
from resources.store import Store
from resources.warehouse import Warehouse


def stale_publications(registry: Registry, store: Store, warehouse: Warehouse) -> dict[str, str]:
    """Dataset id → why its published files do not hold its current version (French); the test is
    ``pipelines/pending.py``'s, which ``territoire run`` makes before importing anything heavy."""
    current = {
        dataset.id: version[0]
        for dataset in registry.datasets.values()
        if (version := warehouse.current_publication(dataset.table)) is not None
    }
    return stale_files(read_manifest(store.publish_dir), current, store.publish_dir)


def missing_reports(registry: Registry, store: Store, warehouse: Warehouse) -> list[dict]:
    """Batches of ``meta.batches`` whose JSON report is not on disk."""
    batches = warehouse.batches()
    by_table = {d.table: d for d in registry.datasets.values()}
    missing = []
    for batch in batches.to_dict("records"):
        dataset = by_table.get(batch["dataset"])
        if dataset is None:
            continue
        _html, json_path, _csv = report_paths(
            {"producer": batch["producer"], "dataset": dataset.id, "batch_id": batch["batch_id"]},
            store.reports_dir,
        )
        if not json_path.exists():
            missing.append(batch)
    return missing


def rewrite_reports(registry: Registry, store: Store, warehouse: Warehouse) -> list[str]:
    """Write again the missing batch reports from the archive; returns the batch ids written."""
    by_table = {d.table: d for d in registry.datasets.values()}
    written = []
    for batch in missing_reports(registry, store, warehouse):
        dataset = by_table[batch["dataset"]]
        receipts = store.archived(batch["producer"], dataset.id)
        archived = next(
            (r for r in receipts if batch.get("sequence") is not None and r.sequence == batch["sequence"]),
            next((r for r in receipts if r.sha256 == batch["sha256"]), None),
        )
        if archived is None:
            continue
        result = ingest_archived(registry, dataset, dataset_schema(dataset), archived, batch["batch_id"])
        # Through the outcome, as load_batch writes it: the same report file, key for key.
        write_batch_report(BatchOutcome.from_report(result.report).to_json(), store.reports_dir)
        written.append(batch["batch_id"])
    return written
