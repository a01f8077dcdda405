"""The batches the pages count, read from the batch reports' JSON files (counts and dates only).

The portal's database role may not read ``meta.batches`` (it holds file names and messages that only
the data team sees); the reports folder the pipeline writes beside the publication does hold, for
every batch, its rows read, accepted and quarantined, its status and its date. Only those fields are
kept: the rejected rows and their cells never leave this module, so no quarantined cell can reach a
public page. Files are parsed once and re-read when they change.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pandas as pd

from portal.pages.context import reports_dir
from quality.coverage import holds_quarantined_cells

# What a public page may know of a batch; never the cells, the file name, nor the message.
PUBLIC_FIELDS = (
    "batch_id",
    "producer",
    "dataset",
    "received_at",
    "rows_read",
    "rows_accepted",
    "rows_quarantined",
    "status",
    "refusal_reason",
)

_lock = threading.Lock()
_parsed: dict[Path, tuple[int, dict[str, Any] | None]] = {}


def _summary(path: Path) -> dict[str, Any] | None:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict) or not report.get("batch_id") or not report.get("received_at"):
        return None
    summary = {field: report.get(field) for field in PUBLIC_FIELDS}
    summary["message"] = ""
    summary["file_name"] = ""
    summary["public"] = not holds_quarantined_cells(summary)
    return summary


def batch_summaries(root: Path | None = None) -> list[dict[str, Any]]:
    """One dict per batch report found (``PUBLIC_FIELDS`` plus ``public``: the report holds no
    quarantined cell, so the portal may link it)."""
    return batch_state(root)[1]


def batch_state(root: Path | None = None) -> tuple[tuple, list[dict[str, Any]]]:
    """The summaries and a key that changes whenever a report appears, changes or goes."""
    folder = root or reports_dir()
    if not folder.is_dir():
        return (), []
    found = []
    stamps = []
    with _lock:
        for path in folder.glob("*/*/*.json"):
            try:
                stamp = path.stat().st_mtime_ns
            except OSError:
                continue
            cached = _parsed.get(path)
            if cached is None or cached[0] != stamp:
                cached = (stamp, _summary(path))
                _parsed[path] = cached
            stamps.append((str(path), stamp))
            if cached[1] is not None:
                found.append(cached[1])
    return tuple(sorted(stamps)), found


def batch_frame(summaries: list[dict[str, Any]]) -> pd.DataFrame:
    """The summaries as the scoreboard's functions read them (``quality.reports.scoreboard``)."""
    frame = pd.DataFrame(summaries, columns=[*PUBLIC_FIELDS, "message", "file_name", "public"])
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True, format="ISO8601")
    return frame.sort_values("received_at", kind="stable").reset_index(drop=True)


def report_file(producer: str, dataset: str, batch_id: str, root: Path | None = None) -> Path | None:
    """The HTML report of a batch when it may be shown publicly (no quarantined cell), else None."""
    folder = (root or reports_dir()).resolve()
    summary_path = (folder / producer / dataset / f"{batch_id}.json").resolve()
    html_path = summary_path.with_suffix(".html")
    if not summary_path.is_relative_to(folder) or not html_path.is_file():
        return None
    summary = _summary(summary_path)
    if summary is None or not summary["public"]:
        return None
    return html_path
