"""What a harmonised partition's run reports to Dagster: its metadata and its checks, from the batch
outcomes of the files it loaded (``assets/producer.py`` builds the assets that yield them)."""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pandas as pd

from quality.frequency import ALLOWED_AGE
from quality.outcome import BatchOutcome
from resources.registry.model import Dataset

CONSERVATION = "conservation"
STRUCTURE = "structure"
VALID_SHARE = "part_lignes_valides"
FRESH = "fraicheur"
PRODUCER = "producteur"
# Below this share of valid rows a batch is flagged: the file probably has a systematic problem
# (wrong columns, wrong schema) rather than a few bad rows.
MIN_VALID_SHARE = 0.5


def summary(outcome: BatchOutcome) -> str:
    """One log line per batch."""
    return (
        f"{outcome.file_name}: {outcome.status}, read {outcome.rows_read}, "
        f"accepted {outcome.rows_accepted}, quarantined {outcome.rows_quarantined}"
    )


def batch_metadata(outcomes: list[BatchOutcome]) -> dict[str, Any]:
    """The partition's materialisation metadata: the last batch's figures, and every batch's row."""
    if not outcomes:
        return {"new_batches": 0}
    last = outcomes[-1]
    return {
        "new_batches": len(outcomes),
        "batch_id": last.batch_id,
        "file_name": last.file_name,
        "status": last.status,
        "rows_read": last.rows_read,
        "rows_accepted": last.rows_accepted,
        "rows_quarantined": last.rows_quarantined,
        "schema_version_read": str(last.schema_version_read or ""),
        "report": dg.MetadataValue.path(last.report_path),
        "message": last.message or "",
        "refusal_reason": str(last.refusal_reason or ""),
        # Every batch of the run, for `territoire run`'s table (a partition may receive several files).
        "batches": dg.MetadataValue.json(
            [
                {
                    "batch_id": o.batch_id,
                    "file_name": o.file_name,
                    "status": o.status,
                    "rows_read": o.rows_read,
                    "rows_accepted": o.rows_accepted,
                    "rows_quarantined": o.rows_quarantined,
                    "message": o.message if o.status == "failed" else "",
                    "refusal_reason": str(o.refusal_reason or ""),
                }
                for o in outcomes
            ]
        ),
    }


def partition_checks(key: dg.AssetKey, outcomes: list[BatchOutcome]) -> Iterator[dg.AssetCheckResult]:
    """The partition's checks, on the batches this run loaded (a run with none passes vacuously)."""
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=CONSERVATION,
        passed=all(o.conserved for o in outcomes),
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"batches": len(outcomes)},
    )
    missing = sorted({column for o in outcomes for column in o.missing_required_columns})
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=STRUCTURE,
        passed=not missing,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"missing_required_columns": dg.MetadataValue.json(missing)},
    )
    foreign = [
        {"file": o.file_name, "column": f["column"], "value": f["value"], "rows": f["rows"]}
        for o in outcomes
        for f in o.identity
    ]
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=PRODUCER,
        passed=not foreign,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"other_authorities": dg.MetadataValue.json(foreign)},
    )
    loaded = [o for o in outcomes if o.status == "loaded"]
    read = sum(o.rows_read for o in loaded)
    share = (sum(o.rows_accepted for o in loaded) / read) if read else 1.0
    refused = [o.file_name for o in outcomes if o.status == "refused"]
    yield dg.AssetCheckResult(
        asset_key=key,
        check_name=VALID_SHARE,
        passed=share >= MIN_VALID_SHARE and not refused,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"valid_share": float(share), "refused_files": dg.MetadataValue.json(refused)},
    )


def freshness_check(key: dg.AssetKey, dataset: Dataset, batches: pd.DataFrame) -> dg.AssetCheckResult:
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
