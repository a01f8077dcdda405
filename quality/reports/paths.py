"""Where a batch's three report files live, and reading its JSON back (ids checked: they become paths)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]*")


def report_paths(report: dict[str, Any], reports_dir: Path) -> tuple[Path, Path, Path]:
    """Where the batch's HTML, JSON and rejected-rows CSV go: ``reports_dir/PRODUCER/DATASET/``."""
    parts = [str(report[key]) for key in ("producer", "dataset", "batch_id")]
    for part in parts:
        if not _SAFE_NAME.fullmatch(part) or ".." in part:
            raise ValueError(f"identifiant impropre à un nom de fichier : {part!r}")
    producer, dataset, batch = parts
    folder = Path(reports_dir) / producer / dataset
    return folder / f"{batch}.html", folder / f"{batch}.json", folder / f"{batch}-rejets.csv"


def read_batch_report(reports_dir: Path, producer: str, dataset: str, batch_id: str) -> dict[str, Any] | None:
    """A batch's JSON report as written (``dataset``: its id), or None when it is not there or not JSON."""
    try:
        _, json_path, _ = report_paths(
            {"producer": producer, "dataset": dataset, "batch_id": batch_id}, reports_dir
        )
        return json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
