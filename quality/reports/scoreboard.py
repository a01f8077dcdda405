"""The territory's scoreboard: who delivers what, how valid and how fresh, with a score each.

One cell per (producer, dataset) that matters — the producer is expected to deliver the dataset
(``expected_from``: communes of 3,500 inhabitants or more must publish by law) or has delivered it.

Cell
    ``valid_share`` = rows accepted / rows read of the cell's last batch (a refused file counts 0);
    ``late`` when the last *loaded* batch is older than the dataset's frequency allows
    (``ALLOWED_AGE``: the period plus a grace, because producers do not deliver on the same day each
    period), or when an expected dataset never arrived. The warehouse keeps the last loaded batch,
    so freshness is measured on it even when a later file was refused.

Producer score (0–100)
    mean over the producer's cells of ``valid_share × freshness``, where freshness is 1 when fresh,
    0.5 when late, and an expected dataset never delivered scores 0.

Dataset quality score (0–100)
    ``100 × (0.5 × criteria_met / 9 + 0.5 × validity)``. The nine criteria are data.gouv.fr's
    metadata quality criteria (udata's ``quality`` block): description of the data (at least
    ``DESCRIPTION_MIN_LENGTH`` characters), files documented (here: a published schema), licence
    declared and open, update frequency declared, update frequency respected (no producer late),
    open file formats, temporal coverage declared, spatial coverage declared, all resources
    available (every expected producer has a loaded batch). ``validity`` is the share of valid rows
    over the last loaded batch of each producer — what data.gouv.fr cannot see and this platform can.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd

from quality.coverage import (
    LATE_FACTOR,
    LateCell,
    coverage_cells,
    coverage_history,
    late_cells_of,
)
from quality.frequency import ALLOWED_AGE
from quality.frequency import LABELS_FR as FREQUENCY_LABELS_FR
from quality.reports import environment, fr_date, fr_percent, write_atomically

DESCRIPTION_MIN_LENGTH = 100  # udata's QUALITY_DESCRIPTION_LENGTH
OPEN_LICENCES = {
    "etalab-2.0", "lov2", "licence-ouverte", "licence-ouverte-2.0", "odbl", "odc-odbl", "cc-by",
    "cc-by-4.0", "cc-by-sa", "cc-by-sa-4.0", "cc0", "cc0-1.0", "odc-by", "pddl", "odc-pddl",
}  # fmt: skip
OPEN_FORMATS = {"csv", "geojson", "json", "parquet", "ods", "xml", "gpkg", "gtfs", "zip", "txt", "shp"}
# What assets/publish/files.py writes for every dataset when the registry says nothing else.
PUBLISHED_FORMATS = ("csv", "geojson", "parquet")
TREND_BATCHES = 8
BATCH_COLUMNS = [
    "batch_id", "producer", "dataset", "file_name", "received_at",
    "rows_read", "rows_accepted", "rows_quarantined", "status", "message",
]  # fmt: skip

CRITERIA_FR: dict[str, str] = {
    "description": "Description des données renseignée",
    "documentation": "Fichiers documentés (schéma publié)",
    "licence": "Licence ouverte renseignée",
    "frequency": "Fréquence de mise à jour renseignée",
    "in_time": "Fréquence de mise à jour respectée",
    "open_formats": "Formats de fichiers ouverts",
    "temporal": "Couverture temporelle renseignée",
    "spatial": "Couverture spatiale renseignée",
    "available": "Toutes les ressources disponibles",
}


def scoreboard_rows(
    producers: list[dict[str, Any]],
    datasets: list[dict[str, Any]],
    batches: pd.DataFrame | None,
    now: datetime,
    reports_base: str = "",
) -> list[dict[str, Any]]:
    """One dict per cell that matters (expected or delivered), for the page and the CLI table."""
    return coverage_cells(producers, datasets, _records(batches), now, reports_base)


def late_cells(
    producers: list[dict[str, Any]],
    datasets: list[dict[str, Any]],
    batches: pd.DataFrame | None,
    now: datetime,
) -> list[LateCell]:
    """The cells whose last loaded delivery is past due, most overdue first (never delivered first)."""
    return late_cells_of(scoreboard_rows(producers, datasets, batches, now), now)


def _records(batches: pd.DataFrame | None) -> list[dict[str, Any]]:
    return [] if batches is None else batches.to_dict("records")


def producer_scores(producers: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per producer: score (mean cell score, None when nothing concerns it) and cell counts."""
    frame = pd.DataFrame(rows, columns=["producer", "expected", "delivered", "late", "score"])
    stats = frame.groupby("producer").agg(
        score=("score", "mean"),
        expected=("expected", "sum"),
        delivered=("delivered", "sum"),
        late=("late", "sum"),
    )
    out = []
    for p in producers:
        s = stats.loc[p["id"]] if p["id"] in stats.index else None
        out.append(
            {
                **p,
                "name": p.get("name") or p["id"],
                "score": None if s is None else round(100 * float(s["score"])),
                "expected_count": 0 if s is None else int(s["expected"]),
                "delivered_count": 0 if s is None else int(s["delivered"]),
                "late_count": 0 if s is None else int(s["late"]),
            }
        )
    return out


def dataset_quality(
    datasets: list[dict[str, Any]], rows: list[dict[str, Any]], batches: pd.DataFrame
) -> list[dict[str, Any]]:
    """Per dataset: the nine data.gouv.fr criteria, validity, and the score (module docstring)."""
    _, last_loaded = _last_batches(batches)
    out = []
    for ds in datasets:
        cells = [r for r in rows if r["dataset"] == ds["id"]]
        expected = [r for r in cells if r["expected"]]
        loaded = last_loaded[last_loaded.index.get_level_values("dataset") == ds["id"]]
        read = float(loaded["rows_read"].sum()) if len(loaded) else 0.0
        validity = float(loaded["rows_accepted"].sum()) / read if read else None
        formats = [str(f).lower() for f in (ds.get("formats") or PUBLISHED_FORMATS)]
        frequency = str(ds.get("frequency") or "")
        criteria = {
            "description": len(str(ds.get("description") or "").strip()) >= DESCRIPTION_MIN_LENGTH,
            "documentation": bool(ds.get("schema")),
            "licence": str(ds.get("licence") or ds.get("license") or "").lower() in OPEN_LICENCES,
            "frequency": frequency in ALLOWED_AGE,
            "in_time": frequency in ALLOWED_AGE and bool(cells) and not any(r["late"] for r in cells),
            "open_formats": bool(formats) and all(f in OPEN_FORMATS for f in formats),
            "temporal": bool(ds.get("temporal_coverage")),
            "spatial": bool(ds.get("spatial")),
            "available": bool(cells) and all(r["last_loaded_at"] is not None for r in (expected or cells)),
        }
        met = sum(criteria.values())
        score = round(100 * (0.5 * met / len(criteria) + 0.5 * (validity or 0.0)))
        out.append(
            {
                **ds,
                "title": ds.get("title") or ds["id"],
                "schema": ds.get("schema") or "",
                "criteria": [(CRITERIA_FR[k], v) for k, v in criteria.items()],
                "criteria_met": met,
                "validity": validity,
                "score": score,
                "frequency_label": FREQUENCY_LABELS_FR.get(frequency, frequency or "non renseignée"),
                "producers_count": len(cells),
                "expected_count": len(expected),
            }
        )
    return sorted(out, key=lambda d: (-d["score"], str(d.get("title") or d["id"])))


def producer_trends(batches: pd.DataFrame, n: int = TREND_BATCHES) -> dict[str, list[float]]:
    """Each producer's valid share over its last ``n`` batches (all datasets), oldest first."""
    frame = _batches(batches)
    if frame.empty:
        return {}
    frame = frame.assign(share=_shares(frame)).sort_values("received_at", kind="stable")
    tail = frame.groupby("producer", sort=False).tail(n)
    return {pid: g["share"].tolist() for pid, g in tail.groupby("producer", sort=False)}


def sparkline(shares: list[float], width: int = 96, height: int = 24) -> dict[str, Any]:
    """Points of an inline SVG polyline, plus the words a screen reader says instead of the drawing."""
    if not shares:
        return {"points": "", "label": "aucun lot", "arrow": "", "width": width, "height": height}
    step = width / max(len(shares) - 1, 1)
    pad = 2
    points = " ".join(
        f"{i * step:.1f},{pad + (1 - s) * (height - 2 * pad):.1f}" for i, s in enumerate(shares)
    )
    if len(shares) == 1:
        points += f" {width:.1f},{pad + (1 - shares[0]) * (height - 2 * pad):.1f}"
    delta = shares[-1] - shares[-2] if len(shares) > 1 else 0.0
    arrow = "↗" if delta > 0.01 else "↘" if delta < -0.01 else "→"
    words = "en progrès" if delta > 0.01 else "en recul" if delta < -0.01 else "stable"
    label = (
        f"{words} : lignes valides sur les {len(shares)} derniers lots, de "
        f"{fr_percent(shares[0], 0)} à {fr_percent(shares[-1], 0)}"
    )
    return {"points": points, "label": label, "arrow": arrow, "width": width, "height": height}


def coverage_chart(
    history: list[tuple[datetime, float]], width: int = 640, height: int = 160
) -> dict[str, Any]:
    """An inline SVG line of the territory's coverage over time (no script), with the words a screen
    reader says instead: from which share on which date to which share today."""
    if not history:
        return {"points": "", "label": "aucune livraison attendue ou reçue", "width": width, "height": height}
    left, right, top, bottom = 44, 8, 8, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    start, end = history[0][0], history[-1][0]
    span = (end - start).total_seconds() or 1.0

    def x(t: datetime) -> float:
        return left + plot_w * (t - start).total_seconds() / span

    def y(share: float) -> float:
        return top + plot_h * (1 - share)

    points = " ".join(f"{x(t):.1f},{y(s):.1f}" for t, s in history)
    if len(history) == 1:
        points += f" {left + plot_w:.1f},{y(history[0][1]):.1f}"
    area = f"{left:.1f},{y(0):.1f} {points} {left + plot_w:.1f},{y(0):.1f}"
    hours = (end - start).total_seconds() < 2 * 86400  # a curve of one day: the hours tell it apart
    first, last = fr_date(start, hours), fr_date(end, hours)
    label = (
        f"Couverture du territoire : {fr_percent(history[0][1], 0)} le {first}, "
        f"{fr_percent(history[-1][1], 0)} le {last}"
    )
    return {
        "points": points,
        "area": area,
        "label": label,
        "width": width,
        "height": height,
        "grid": [(y(s), fr_percent(s, 0)) for s in (0.0, 0.5, 1.0)],
        "left": left,
        "right_x": left + plot_w,
        "axis_y": y(0) + 16,
        "first_label": first,
        "last_label": last,
        "last_share": fr_percent(history[-1][1], 0),
    }


def render_scoreboard(
    producers: list[dict[str, Any]],
    datasets: list[dict[str, Any]],
    batches: pd.DataFrame,
    reports_base: str,
    now: datetime,
    holds: list[dict[str, Any]] | None = None,
) -> str:
    """``holds``: changes waiting for approval, ``{dataset, version, producer, reason, approve}``."""
    rows = scoreboard_rows(producers, datasets, batches, now, reports_base)
    scored = producer_scores(producers, rows)
    concerned = [p for p in scored if p["score"] is not None]
    # Best first, so a commune sees the ones ahead of it; a commune's progress moves it up the table.
    concerned.sort(key=lambda p: (-p["score"], str(p.get("name") or p["id"])))
    quality = dataset_quality(datasets, rows, batches)
    trends = producer_trends(batches)
    by_cell = {(r["producer"], r["dataset"]): r for r in rows}
    history = coverage_history(producers, datasets, _records(batches), now)
    context = {
        "coverage": coverage_chart(history),
        "now": now,
        "producers": [{**p, "trend": sparkline(trends.get(p["id"], []))} for p in concerned],
        "idle": [p for p in scored if p["score"] is None],
        "datasets": quality,
        "cells": by_cell,
        "late": [r for r in rows if r["late"]],
        "criteria_count": len(CRITERIA_FR),
        "criteria_labels": list(CRITERIA_FR.values()),
        "allowed_age": [(FREQUENCY_LABELS_FR[k], v.days) for k, v in ALLOWED_AGE.items()],
        "late_factor": LATE_FACTOR,
        "fr_date": fr_date,
        "holds": holds or [],
    }
    return environment().get_template("scoreboard.html.j2").render(**context)


def write_scoreboard(
    producers: list[dict[str, Any]],
    datasets: list[dict[str, Any]],
    batches: pd.DataFrame,
    publish_dir: Path,
    reports_base: str,
    now: datetime,
    holds: list[dict[str, Any]] | None = None,
) -> Path:
    """Write ``publish_dir/index.html``, the scoreboard (formulas in the module docstring and the page)."""
    path = Path(publish_dir) / "index.html"
    page = render_scoreboard(producers, datasets, batches, reports_base, now, holds)
    write_atomically(path, page.encode("utf-8"))
    return path


# --------------------------------------------------------------------------- batches


def _batches(batches: pd.DataFrame | None) -> pd.DataFrame:
    frame = pd.DataFrame(columns=BATCH_COLUMNS) if batches is None else batches.reindex(columns=BATCH_COLUMNS)
    frame = frame.copy()
    frame["received_at"] = pd.to_datetime(frame["received_at"], utc=True, format="ISO8601")
    for col in ("rows_read", "rows_accepted", "rows_quarantined"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce").fillna(0).astype("int64")
    frame["status"] = frame["status"].fillna("loaded").astype(str)
    return frame


def _shares(frame: pd.DataFrame) -> pd.Series:
    """Valid share of each batch: a refused file or a file with no row gives nothing usable, 0."""
    read = frame["rows_read"].where(frame["rows_read"] > 0)
    share = (frame["rows_accepted"] / read).fillna(0.0)
    return share.where(~frame["status"].isin(["refused", "failed"]), 0.0)


def _last_batches(batches: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Last batch and last loaded batch per (producer, dataset), indexed by that pair."""
    frame = _batches(batches).sort_values("received_at", kind="stable")
    last = frame.groupby(["producer", "dataset"]).tail(1).set_index(["producer", "dataset"])
    loaded = frame[~frame["status"].isin(["refused", "failed"])]
    last_loaded = loaded.groupby(["producer", "dataset"]).tail(1).set_index(["producer", "dataset"])
    return last, last_loaded
