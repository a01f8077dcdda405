"""Held changes written into the batch reports of the producers they concern.

A hold is decided when the territory is published, after the batch report was written: the report of
the held producer's batch (and, for a takeover, the report of the producer whose rows would change
hands) is rewritten with a ``holds`` entry that says which rows, why, and the command that approves.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from quality.holds import approve_command
from quality.reports.batch import write_batch_report
from quality.reports.paths import report_paths

__all__ = ["annotate_reports", "approve_command", "hold_notes"]


def hold_notes(dataset: str, version: int, holds: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Per producer, the notes its report shows: its own held change, or rows another would take."""
    notes: dict[str, list[dict[str, Any]]] = {}
    command = approve_command(dataset, version)
    for hold in holds:
        producer = hold["producer"]
        rows = hold.get("takeover") or []
        notes.setdefault(producer, []).append(
            {
                "version": version,
                "role": "held",
                "reason": hold.get("reason", ""),
                "rows": rows,
                "approve": command,
                "text": (
                    f"Votre dépôt n'est pas encore publié : {hold.get('reason', '')}. Les données publiées "
                    f"précédemment restent en ligne jusqu'à la décision de l'équipe données "
                    f"(« {command} »)."
                ),
            }
        )
        for loser in sorted({r["from"] for r in rows}):
            theirs = [r for r in rows if r["from"] == loser]
            notes.setdefault(loser, []).append(
                {
                    "version": version,
                    "role": "taken",
                    "reason": hold.get("reason", ""),
                    "rows": theirs,
                    "approve": command,
                    "text": (
                        f"{producer} a envoyé {len(theirs)} ligne(s) portant les mêmes identifiants que des "
                        f"lignes que vous avez publiées ; elles resteraient publiées sous le nom de "
                        f"{producer} si l'équipe données approuve (« {command} »). En attendant, vos "
                        f"lignes restent publiées."
                    ),
                }
            )
    return notes


def annotate_reports(
    reports_dir: Path, dataset: str, holds: list[dict[str, Any]], batches: dict[str, str]
) -> list[Path]:
    """Make the current report of every producer (``batches``: producer → its current batch id) say
    what is held now: notes added for the held versions ``holds`` (as ``Warehouse.holds`` returns
    them), and removed once a hold is approved or superseded. Returns the pages rewritten."""
    notes: dict[str, list[dict[str, Any]]] = {}
    for held in holds:
        for producer, more in hold_notes(dataset, held["version"], held["holds"]).items():
            notes.setdefault(producer, []).extend(more)
    written = []
    for producer, batch_id in sorted(batches.items()):
        _html, json_path, _csv = report_paths(
            {"producer": producer, "dataset": dataset, "batch_id": batch_id}, reports_dir
        )
        if not json_path.exists():
            continue
        report = json.loads(json_path.read_text(encoding="utf-8"))
        wanted = notes.get(producer, [])
        if report.get("holds", []) == wanted:
            continue
        report["holds"] = wanted
        html, _json, _csv = write_batch_report(report, reports_dir)
        written.append(html)
    return written
