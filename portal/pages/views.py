"""What each page shows, gathered: the data behind ``/``, ``/jeux-de-donnees/{id}`` and
``/producteurs/{id}``, as plain dicts for the templates (no HTML here, no FastAPI).

Quality and freshness are the scoreboard's own formulas (``quality.reports.scoreboard``), fed with the
batch summaries of ``portal.pages.batches``; rows come from the published tables themselves.
"""

from __future__ import annotations

import json
import time
import unicodedata
from datetime import UTC, datetime
from typing import Any

from portal import queries
from portal.columns import PublishedDataset
from portal.errors import ApiError
from portal.pages import charts, data
from portal.pages.batches import batch_frame, batch_state
from portal.pages.context import PortalState, Registry, commune_names, frequency_label
from portal.request import parse_query
from quality.reports.scoreboard import (
    dataset_quality,
    producer_scores,
    producer_trends,
    scoreboard_rows,
)

LICENCES = {
    "etalab-2.0": (
        "Licence Ouverte 2.0 (Etalab)",
        "https://www.etalab.gouv.fr/licence-ouverte-open-licence/",
    ),
    "odbl-1.0": ("Open Database License (ODbL) 1.0", "https://opendatacommons.org/licenses/odbl/1-0/"),
}
KINDS = {"commune": "Commune", "metropole": "Métropole", "operator": "Opérateur"}
PREVIEW_ROWS = 20
OPERATORS_FR = {
    "exact": "est égal à",
    "differs": "est différent de",
    "contains": "contient",
    "in": "est parmi (a,b,…)",
    "less": "≤",
    "greater": "≥",
    "isnull": "est vide",
    "isnotnull": "n'est pas vide",
}


def fold(text: str) -> str:
    """Lower case without accents, for the search box (« deliberation » finds « Délibérations »)."""
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if not unicodedata.combining(c))


def _datasets_input(registry: Registry) -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "title": d.title,
            "schema": d.schema_ref,
            "frequency": d.frequency,
            "expected_from": registry.expected_producers(d),
            "description": d.description,
            "licence": d.licence,
            "spatial": True,  # every dataset covers the territory, whose outline the catalogue gives
        }
        for d in registry.datasets.values()
    ]


def _producers_input(registry: Registry) -> list[dict[str, Any]]:
    return [p.model_dump() for p in registry.producers]


# Scores change when a batch report does, and (lateness) with the clock: kept a minute at most.
_SCORES_TTL_S = 60
_scores: dict[tuple, tuple[float, dict[str, Any]]] = {}


def territory_scores(registry: Registry, now: datetime | None = None) -> dict[str, Any]:
    """The scoreboard's cells, producer scores and dataset qualities, from the batch summaries."""
    key, summaries = batch_state()
    cache_key = (id(registry), key)
    cached = _scores.get(cache_key)
    if now is None and cached is not None and time.monotonic() - cached[0] < _SCORES_TTL_S:
        return cached[1]
    batches = batch_frame(summaries)
    producers, datasets = _producers_input(registry), _datasets_input(registry)
    rows = scoreboard_rows(producers, datasets, batches, now or datetime.now(UTC))
    scores = {
        "cells": {(r["producer"], r["dataset"]): r for r in rows},
        "producers": producer_scores(producers, rows),
        "quality": {q["id"]: q for q in dataset_quality(datasets, rows, batches)},
        "trends": producer_trends(batches),
        "batches": batches,
    }
    if now is None:
        _scores.clear()
        _scores[cache_key] = (time.monotonic(), scores)
    return scores


async def home(portal: PortalState, q: str) -> dict[str, Any]:
    registry: Registry = portal.settings.registry
    scores = territory_scores(registry)
    cards = []
    async with portal.pool.connection() as conn:
        current = await queries.current_versions(conn)
        for published in portal.datasets.values():
            version = current.get(published.table)
            if version is None:
                continue
            snap = queries.Snapshot(
                published.table, version.version, version.published_at, version.rows, True
            )
            counts = await data.rows_per_producer(conn, snap)
            dataset = published.dataset
            haystack = fold(" ".join([dataset.title, dataset.description, *dataset.keywords, dataset.id]))
            if q and not all(word in haystack for word in fold(q).split()):
                continue
            cards.append(
                {
                    "id": dataset.id,
                    "title": dataset.title,
                    "description": dataset.description,
                    "keywords": dataset.keywords,
                    "rows": version.rows,
                    "version": version.version,
                    "published_at": version.published_at,
                    "producers": len(counts),
                    "geo": published.geometry is not None,
                    "quality": scores["quality"].get(dataset.id),
                }
            )
    cards.sort(key=lambda c: c["title"])
    concerned = [p for p in scores["producers"] if p["score"] is not None]
    concerned.sort(key=lambda p: (-p["score"], p["name"]))
    publishes: dict[str, list[str]] = {}
    for (pid, did), cell in scores["cells"].items():
        if cell["delivered"]:
            publishes.setdefault(pid, []).append(did)
    return {
        "q": q,
        "cards": cards,
        "total": sum(1 for p in portal.datasets.values() if p.table in current),
        "producers": concerned,
        "publishes": publishes,
        "titles": {d.id: d.title for d in registry.datasets.values()},
    }


def _names(registry: Registry) -> dict[str, str]:
    return {p.id: p.name for p in registry.producers}


def preview_params(published: PublishedDataset, form: dict[str, str], version: int) -> list[tuple[str, str]]:
    """The page's own preview form (``champ``, ``operateur``, ``valeur``, ``tri``) as API parameters."""
    params = [("version", str(version)), ("page_size", str(PREVIEW_ROWS))]
    field, operator = form.get("champ") or "", form.get("operateur") or "exact"
    if field:
        value = form.get("valeur") or ""
        if operator in ("isnull", "isnotnull"):
            value = "true"
        params.append((f"{field}__{operator}", value))
    if form.get("tri"):
        params.append(("sort", form["tri"]))
    return params


async def dataset(
    portal: PortalState, published: PublishedDataset, version: int | None, form: dict[str, str]
) -> dict[str, Any] | None:
    """The dataset page's data; None when the dataset (or that version) was never published."""
    registry: Registry = portal.settings.registry
    names = _names(registry)
    async with portal.pool.connection() as conn:
        known = await queries.versions(conn, published.table)
        snap = await queries.snapshot(conn, published.table, version=version)
        if snap is None:
            return None
        counts = await data.rows_per_producer(conn, snap)
        numeric = data.main_numeric(published)
        figures = [charts.rows_per_producer(counts, names)]
        if numeric is not None:
            if numeric.type == "number" and "montant" in numeric.name.lower():
                totals = await data.totals_per_producer(conn, snap, numeric)
                figures.append(charts.totals_per_producer(totals, names, numeric.title or numeric.name))
            bins = await data.distribution(conn, snap, numeric)
            if bins:
                figures.append(charts.distribution(bins, numeric.title or numeric.name))
        figures.append(charts.rows_over_versions(known))
        preview_error = None
        try:
            query = parse_query(published, preview_params(published, form, snap.version))
            rows = await queries.records(conn, published, query, snap, None, PREVIEW_ROWS + 1)
        except ApiError as error:
            preview_error, rows = error.message, []
    scores = territory_scores(registry)
    ds = published.dataset
    producers = []
    for pid in sorted(set(counts) | set(registry.expected_producers(ds)), key=lambda p: names.get(p, p)):
        cell = scores["cells"].get((pid, ds.id))
        producers.append({"id": pid, "name": names.get(pid, pid), "rows": counts.get(pid, 0), "cell": cell})
    shown = [c for c in published.columns if not c.is_geometry]
    records = [json.loads(r[0]) for r in rows[:PREVIEW_ROWS]]
    return {
        "published": published,
        "dataset": ds,
        "snap": snap,
        "versions": list(reversed(known)),
        "licence": LICENCES.get(ds.licence, (ds.licence, None)),
        "frequency": frequency_label(ds.frequency),
        "quality": scores["quality"].get(ds.id),
        "producers": producers,
        "charts": figures,
        "columns": shown,
        "sortable": [c for c in shown if c.sortable],
        "records": [[_cell(r.get(c.name)) for c in shown] for r in records],
        "more": len(rows) > PREVIEW_ROWS,
        "preview_error": preview_error,
        "form": form,
        "operators": OPERATORS_FR,
        "formats": ["csv", "json", "geojson", "parquet"]
        if published.geometry
        else ["csv", "json", "parquet"],
    }


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


async def producer(portal: PortalState, producer_id: str) -> dict[str, Any] | None:
    registry: Registry = portal.settings.registry
    found = registry.producer_by_id.get(producer_id)
    if found is None:
        return None
    scores = territory_scores(registry)
    batches = scores["batches"]
    mine = batches[batches["producer"] == producer_id]
    rows_by_dataset: dict[str, int] = {}
    geo_layers = []
    async with portal.pool.connection() as conn:
        current = await queries.current_versions(conn)
        for published in portal.datasets.values():
            version = current.get(published.table)
            if version is None:
                continue
            snap = queries.Snapshot(
                published.table, version.version, version.published_at, version.rows, True
            )
            counts = await data.rows_per_producer(conn, snap)
            if counts.get(producer_id):
                rows_by_dataset[published.id] = counts[producer_id]
                if published.geometry is not None:
                    geo_layers.append(published.id)
    titles = {d.id: d.title for d in registry.datasets.values()}
    datasets = []
    for did in titles:
        cell = scores["cells"].get((producer_id, did))
        if cell is None and did not in rows_by_dataset:
            continue
        public = mine[(mine["dataset"] == did) & (mine["batch_id"] == (cell or {}).get("last_batch"))]
        datasets.append(
            {
                "id": did,
                "title": titles[did],
                "rows": rows_by_dataset.get(did, 0),
                "cell": cell,
                "public_report": bool(len(public)) and bool(public.iloc[-1]["public"]),
            }
        )
    trend = [
        (r.received_at.to_pydatetime(), titles.get(r.dataset, r.dataset), _share(r))
        for r in mine.itertuples()
    ][-12:]
    score = next((p for p in scores["producers"] if p["id"] == producer_id), None)
    return {
        "producer": found,
        "kind": KINDS.get(found.kind, found.kind),
        "commune": commune_names().get(found.insee or ""),
        "score": score,
        "datasets": datasets,
        "trend": charts.valid_share_trend(trend) if trend else None,
        "geo_layers": geo_layers,
    }


def _share(batch: Any) -> float:
    if batch.status in ("refused", "failed") or not batch.rows_read:
        return 0.0
    return float(batch.rows_accepted) / float(batch.rows_read)
