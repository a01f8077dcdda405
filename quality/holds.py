"""Held changes as people read them: one line per held producer, with the command that approves it.

Pure and dependency-free: the scoreboard page, ``territoire status`` (which must answer at once) and
``territoire run`` all show holds through it. ``holds`` are what ``Warehouse.holds`` returns (one
entry per held version of a dataset's table, each with its per-producer ``holds``).
"""

from __future__ import annotations

from typing import Any


def approve_command(dataset: str, version: int) -> str:
    return f"territoire approve {dataset} {version}"


def recorded_holds(diff: dict[str, Any]) -> list[dict[str, Any]]:
    """The holds a held version records (versions held before per-producer holds only name them)."""
    return diff.get("holds") or [
        {"producer": p, "batch_id": None, "kind": "removal", "reason": ""} for p in diff.get("held_for", [])
    ]


def hold_rows(holds: list[dict[str, Any]] | None, by_table: dict[str, str]) -> list[dict[str, Any]]:
    """One line per held producer: dataset id, version, producer, reason and the approve command."""
    rows = []
    for held in holds or []:
        dataset = by_table.get(held["dataset"], held["dataset"])
        for hold in held["holds"]:
            rows.append(
                {
                    "dataset": dataset,
                    "version": held["version"],
                    "producer": hold["producer"],
                    "reason": hold.get("reason") or "retrait d'une grande part des lignes publiées",
                    "approve": approve_command(dataset, held["version"]),
                }
            )
    return rows


def holds_document(holds: list[dict[str, Any]], by_table: dict[str, str]) -> list[dict[str, Any]]:
    """``territoire status --format json``'s ``holds``: dataset, version, producers, reason, approve."""
    documented = []
    for held in holds:
        dataset = by_table.get(held["dataset"], held["dataset"])
        documented.append(
            {
                "dataset": dataset,
                "version": held["version"],
                "producers": held["producers"],
                "reason": " ; ".join(r["reason"] for r in hold_rows([held], by_table)),
                "approve": approve_command(dataset, held["version"]),
                "details": [
                    {k: v for k, v in h.items() if k != "takeover"}
                    | {"rows": [r["key"] for r in h.get("takeover", [])]}
                    for h in held["holds"]
                ],
            }
        )
    return documented
