"""OpenDataSoft portals: Explore API v2.1 exports.

Registry entry: ``{kind: opendatasoft, url: <portal base>, dataset: <dataset_id>, format: csv|geojson,
where: <ODSQL filter>?, params: {select, refine, lang, ...}?}``. The dataset's metadata is read first
(``/catalog/datasets/{id}``), which both checks the dataset exists with a clear message and records
its title, licence and modification date; the export is then a conditional download. Portals still on
v2.0 wrap the metadata in ``{"dataset": {...}}``; both shapes are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import quote

from resources.harvest.errors import HarvestError
from resources.harvest.harvested import Harvested
from resources.harvest.http import fetch, get_json
from resources.harvest.policy import HttpPolicy

EXPORT_FORMATS = {"csv": "text/csv", "geojson": "application/geo+json"}


def dataset_url(portal: str, dataset: str) -> str:
    return f"{portal.rstrip('/')}/api/explore/v2.1/catalog/datasets/{quote(dataset, safe='')}"


def dataset_metadata(portal: str, dataset: str, policy: HttpPolicy) -> dict[str, Any]:
    """``metas.default`` plus ids, from a v2.1 (flat) or v2.0 (``dataset``-wrapped) document."""
    url = dataset_url(portal, dataset)
    try:
        document = get_json(url, policy=policy)
    except HarvestError as exc:
        raise HarvestError(
            url, f"jeu de données OpenDataSoft introuvable ou portail indisponible ({exc.cause})"
        ) from None
    if isinstance(document, dict) and isinstance(document.get("dataset"), dict):
        document = document["dataset"]
    if not isinstance(document, dict) or "dataset_id" not in document:
        raise HarvestError(url, "réponse inattendue : pas de « dataset_id » dans la description du jeu")
    default = (document.get("metas") or {}).get("default") or {}
    return {
        "portal": "opendatasoft",
        "dataset_id": document["dataset_id"],
        "dataset_uid": document.get("dataset_uid"),
        "title": default.get("title"),
        "licence": default.get("license"),
        "modified": default.get("modified"),
        "data_processed": default.get("data_processed"),
        "records_count": default.get("records_count"),
        "fields": [f.get("name") for f in document.get("fields") or []],
    }


def harvest_opendatasoft(
    entry: Mapping[str, Any], previous: Mapping[str, Any] | None, policy: HttpPolicy
) -> Harvested:
    portal, dataset = entry["url"], str(entry["dataset"])
    fmt = str(entry.get("format", "csv")).lower()
    if fmt not in EXPORT_FORMATS:
        raise HarvestError(portal, f"format d'export {fmt!r} non pris en charge (possibles : csv, geojson)")
    metadata = dataset_metadata(portal, dataset, policy)
    params = {str(k): str(v) for k, v in (entry.get("params") or {}).items()}
    if entry.get("where"):
        params["where"] = str(entry["where"])
    if fmt == "csv":
        # Comma and UTF-8 so the archived file reads like any other CSV; ODS defaults to ';'.
        params.setdefault("delimiter", ",")
    export_url = f"{dataset_url(portal, dataset)}/exports/{fmt}"
    harvested = fetch(
        export_url, policy=policy, previous=previous, params=params or None, file_name=f"{dataset}.{fmt}"
    )
    # The server's own name may lack the extension the reader dispatches on; ours does not.
    return replace(harvested, file_name=f"{dataset}.{fmt}", metadata=metadata)
