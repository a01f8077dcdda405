"""Who delivered what: one cell per (producer, dataset) that matters, from the batch log, in plain Python.

The scoreboard page (``quality/reports/scoreboard.py``) and ``territoire status`` read the same cells;
this module needs neither pandas nor the warehouse so that the command answers at once. Formulas are
in the scoreboard's docstring: a cell is late when its last *loaded* batch is older than the dataset's
frequency allows, or when an expected dataset never arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, NamedTuple
from urllib.parse import quote

from quality.french import as_utc
from quality.frequency import ALLOWED_AGE

LATE_FACTOR = 0.5


class LateCell(NamedTuple):
    """A (producer, dataset) whose data is older than its frequency allows (or never came)."""

    producer: str
    dataset: str
    last_delivery: datetime | None
    due: datetime | None  # None: expected and never delivered, so due already


def clean_batch(batch: Mapping[str, Any]) -> dict[str, Any]:
    """One batch-log row with the types the cells need (UTC time, integer counts, a status)."""
    out = dict(batch)
    out["received_at"] = as_utc(batch.get("received_at"))
    for col in ("rows_read", "rows_accepted", "rows_quarantined"):
        value = batch.get(col)
        try:
            out[col] = 0 if value is None or value != value else int(value)
        except (TypeError, ValueError):
            out[col] = 0
    status = batch.get("status")
    out["status"] = "loaded" if status is None or status != status else str(status)
    return out


def last_batches(
    batches: Iterable[Mapping[str, Any]],
) -> tuple[dict[tuple[str, str], dict], dict[tuple[str, str], dict]]:
    """Last batch and last loaded batch per (producer, dataset); ties keep the log's order."""
    rows = [clean_batch(b) for b in batches]
    epoch = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda b: b["received_at"] or epoch)
    last: dict[tuple[str, str], dict] = {}
    loaded: dict[tuple[str, str], dict] = {}
    for b in rows:
        key = (b.get("producer"), b.get("dataset"))
        last[key] = b
        if b["status"] not in ("refused", "failed"):
            loaded[key] = b
    return last, loaded


def valid_share(batch: Mapping[str, Any]) -> float:
    """Rows accepted / rows read; a refused file or a file with no row counts 0."""
    if batch["status"] in ("refused", "failed") or int(batch["rows_read"]) <= 0:
        return 0.0
    return int(batch["rows_accepted"]) / int(batch["rows_read"])


def holds_quarantined_cells(batch: Mapping[str, Any]) -> bool:
    """Whether the batch's report lists quarantined rows (with the cells the producer sent)."""
    quarantined = batch.get("rows_quarantined")
    if quarantined is None or quarantined != quarantined:  # absent or NaN
        # Conservation: what was read and not accepted is in quarantine.
        quarantined = int(batch.get("rows_read") or 0) - int(batch.get("rows_accepted") or 0)
    return int(quarantined) > 0


def report_url(reports_base: str, producer: str, dataset: str, batch_id: str) -> str:
    base = reports_base.rstrip("/")
    tail = "/".join(quote(str(part), safe="") for part in (producer, dataset, f"{batch_id}.html"))
    return f"{base}/{tail}" if base else tail


def coverage_cells(
    producers: list[dict[str, Any]],
    datasets: list[dict[str, Any]],
    batches: Iterable[Mapping[str, Any]],
    now: datetime,
    reports_base: str = "",
) -> list[dict[str, Any]]:
    """One dict per cell that matters (expected or delivered), for the page and the CLI table."""
    now = as_utc(now)
    last, last_loaded = last_batches(batches)
    names = {p["id"]: p.get("name") or p["id"] for p in producers}
    rows = []
    for ds in datasets:
        expected = set(ds.get("expected_from") or [])
        delivered = {pid for pid, did in last if did == ds["id"]}
        allowed = ALLOWED_AGE.get(str(ds.get("frequency") or ""))
        for pid in [p["id"] for p in producers if p["id"] in expected | delivered]:
            batch = last.get((pid, ds["id"]))
            loaded = last_loaded.get((pid, ds["id"]))
            delivered_at = loaded["received_at"] if loaded is not None else None
            due = delivered_at + allowed if delivered_at is not None and allowed is not None else None
            late = pid in expected if loaded is None else (due is not None and now > due)
            share = valid_share(batch) if batch is not None else None
            rows.append(
                {
                    "producer": pid,
                    "producer_name": names.get(pid, pid),
                    "dataset": ds["id"],
                    "dataset_title": ds.get("title") or ds["id"],
                    "expected": pid in expected,
                    "delivered": batch is not None,
                    "last_batch": batch.get("batch_id") if batch is not None else None,
                    "last_status": batch["status"] if batch is not None else None,
                    "last_message": (batch.get("message") or "") if batch is not None else "",
                    "last_refusal_reason": batch.get("refusal_reason") if batch is not None else None,
                    "last_received_at": batch["received_at"] if batch is not None else None,
                    "last_loaded_at": delivered_at,
                    "rows_read": batch["rows_read"] if batch is not None else 0,
                    "rows_accepted": batch["rows_accepted"] if batch is not None else 0,
                    "valid_share": share,
                    "late": bool(late),
                    "due": due,
                    "report_url": report_url(reports_base, pid, ds["id"], batch.get("batch_id"))
                    if batch is not None
                    else None,
                    # A report holding quarantined rows shows cells as the producer sent them (names,
                    # phone numbers): for the producer and the data team (the CLI), never public pages.
                    "public_report_url": report_url(reports_base, pid, ds["id"], batch.get("batch_id"))
                    if batch is not None and not holds_quarantined_cells(batch)
                    else None,
                    "score": cell_score(share, late, batch is not None),
                }
            )
    return rows


def late_cells_of(rows: list[dict[str, Any]], now: datetime) -> list[LateCell]:
    """The late cells, most overdue first (never delivered first)."""
    late = [LateCell(r["producer"], r["dataset"], r["last_loaded_at"], r["due"]) for r in rows if r["late"]]
    return sorted(late, key=lambda c: (c.due is not None, c.due or now, c.producer, c.dataset))


def cell_score(share: float | None, late: bool, delivered: bool) -> float:
    if not delivered or share is None:
        return 0.0
    return share * (LATE_FACTOR if late else 1.0)


def coverage_history(
    producers: list[dict[str, Any]],
    datasets: list[dict[str, Any]],
    batches: Iterable[Mapping[str, Any]],
    now: datetime,
    points: int = 12,
) -> list[tuple[datetime, float]]:
    """The territory's coverage over time: at ``points`` dates from the first delivery to ``now``, the
    share of expected (producer, dataset) cells whose last loaded file was still fresh on that date
    (delivered at most the dataset's allowed age before; any delivery counts when no frequency is
    declared). Empty when nothing is expected or nothing was ever received."""
    now = as_utc(now)
    known = {p["id"] for p in producers}
    expected = {
        (pid, ds["id"]): ALLOWED_AGE.get(str(ds.get("frequency") or ""))
        for ds in datasets
        for pid in ds.get("expected_from") or []
        if pid in known
    }
    loaded: dict[tuple[str, str], list[datetime]] = {}
    for b in (clean_batch(b) for b in batches):
        key = (b.get("producer"), b.get("dataset"))
        if key in expected and b["status"] != "refused" and b["received_at"] is not None:
            loaded.setdefault(key, []).append(b["received_at"])
    if not expected or not loaded:
        return []
    start = min(t for times in loaded.values() for t in times)
    if start >= now:
        return [(now, _covered(expected, loaded, now) / len(expected))]
    step = (now - start) / max(points - 1, 1)
    moments = [start + i * step for i in range(points - 1)] + [now]  # exactly now, not now ± rounding
    return [(t, _covered(expected, loaded, t) / len(expected)) for t in moments]


def _covered(
    expected: dict[tuple[str, str], timedelta | None],
    loaded: dict[tuple[str, str], list[datetime]],
    t: datetime,
) -> int:
    count = 0
    for key, allowed in expected.items():
        past = [d for d in loaded.get(key, []) if d <= t]
        if past and (allowed is None or t - max(past) <= allowed):
            count += 1
    return count
