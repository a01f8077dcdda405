"""What a harmonised partition's run reports to Dagster: its metadata and its checks, from the batch
reports of the files it loaded (``assets/producer.py`` builds the assets that yield them)."""

from datetime import UTC, datetime
from typing import Any

import dagster as dg
import pandas as pd

from quality.frequency import ALLOWED_AGE
from resources.registry.model import Dataset

CONSERVATION = "conservation"
STRUCTURE = "structure"
VALID_SHARE = "part_lignes_valides"
FRESH = "fraicheur"
PRODUCER = "producteur"
# Below this share of valid rows a batch is flagged: the file probably has a systematic problem
# (wrong columns, wrong schema) rather than a few bad rows.
MIN_VALID_SHARE = 0.5


def summary(report: dict[str, Any]) -> str:
    """One log line per batch."""
    return (
        f"{report['file_name']}: {report['status']}, read {report['rows_read']}, "
        f"accepted {report['rows_accepted']}, quarantined {report['rows_quarantined']}"
    )


def batch_metadata(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """The partition's materialisation metadata: the last batch's figures, and every batch's row."""
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


def partition_checks(key: dg.AssetKey, reports: list[dict[str, Any]]):
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
