"""CKAN (and CKAN-compatible DKAN) portals: find a dataset's resource with the Action API, download it.

Registry entry: ``{kind: ckan, url: <portal base>, dataset: <name or id>, resource: {format: CSV} |
{name: ...} | {id: ...}}``. DKAN portals answer ``package_show`` with ``result`` as a one-item list
and French free-text dates; both shapes are accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

from resources.harvest.errors import HarvestError
from resources.harvest.harvested import Harvested
from resources.harvest.http import KNOWN_EXTENSIONS, fetch, get_json
from resources.harvest.policy import HttpPolicy


def package_show(portal: str, dataset: str, policy: HttpPolicy) -> dict[str, Any]:
    """The package (dataset) document from ``/api/3/action/package_show?id=``."""
    url = portal.rstrip("/") + "/api/3/action/package_show"
    try:
        answer = get_json(url, policy=policy, params={"id": dataset})
    except HarvestError as exc:
        raise HarvestError(
            f"{url}?id={dataset}", f"jeu de données introuvable ou portail indisponible ({exc.cause})"
        ) from None
    if not isinstance(answer, dict) or not answer.get("success", False):
        error = answer.get("error") if isinstance(answer, dict) else None
        raise HarvestError(
            f"{url}?id={dataset}", f"le portail CKAN a répondu une erreur : {error or answer!r:.200}"
        )
    result = answer.get("result")
    if isinstance(result, list):  # DKAN
        result = result[0] if len(result) == 1 else None
    if not isinstance(result, dict) or not isinstance(result.get("resources"), list):
        raise HarvestError(f"{url}?id={dataset}", "réponse package_show sans liste de ressources")
    return result


def pick_resource(
    package: Mapping[str, Any], selector: Mapping[str, str], source: str = ""
) -> dict[str, Any]:
    """The first resource (in the portal's order) whose id, name or format matches the selector.

    Formats are compared case-insensitively and without a leading dot (``csv`` = ``.CSV``), since
    portals spell them every way.
    """
    resources = [r for r in package["resources"] if r.get("url")]

    def norm(value: Any) -> str:
        return str(value or "").strip().lower().lstrip(".")

    matches = [
        r for r in resources if all(norm(r.get(key)) == norm(value) for key, value in selector.items())
    ]
    if not matches:
        available = "; ".join(f"{r.get('name')!s} ({r.get('format') or 'format ?'})" for r in resources)
        raise HarvestError(
            source or str(package.get("name") or "?"),
            f"aucune ressource du jeu « {package.get('title') or package.get('name')} » ne correspond à "
            f"{dict(selector)} ; ressources disponibles : {available or 'aucune'}",
        )
    return matches[0]


def harvest_ckan(
    entry: Mapping[str, Any], previous: Mapping[str, Any] | None, policy: HttpPolicy
) -> Harvested:
    package = package_show(entry["url"], str(entry["dataset"]), policy)
    selector = entry.get("resource") or {"format": "csv"}
    show_url = f"{entry['url'].rstrip('/')}/api/3/action/package_show?id={entry['dataset']}"
    resource = pick_resource(package, selector, show_url)
    url = resource["url"]
    name = _resource_file_name(resource)
    harvested = fetch(url, policy=policy, previous=previous, file_name=name)
    metadata = {
        "portal": "ckan",
        "dataset_id": package.get("id"),
        "dataset_name": package.get("name"),
        "title": package.get("title"),
        "licence": package.get("license_id") or package.get("license_title"),
        "metadata_modified": package.get("metadata_modified"),
        "resource_id": resource.get("id"),
        "resource_name": resource.get("name"),
        "resource_format": resource.get("format"),
        "resource_last_modified": resource.get("last_modified"),
    }
    return replace(harvested, metadata=metadata)


def _resource_file_name(resource: Mapping[str, Any]) -> str | None:
    """The resource's name if it looks like a file name, else the URL's; the format supplies the extension."""
    name = str(resource.get("name") or "")
    if not name.lower().endswith(KNOWN_EXTENSIONS):
        name = unquote(PurePosixPath(urlsplit(resource["url"]).path).name)
    fmt = str(resource.get("format") or "").strip().lower().lstrip(".")
    if name and not name.lower().endswith(KNOWN_EXTENSIONS) and fmt and fmt.isalnum():
        name = f"{name}.{fmt}"
    return name or None
