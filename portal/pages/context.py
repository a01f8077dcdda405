"""What the portal's pages take from the rest of the platform, in one place.

The registry's types, the territory's outline, the frequencies' French labels, the history table's
name and where the batch reports live: every import from outside ``portal/`` that the pages need is
here, so that moving one of them (issue 16) means changing one file.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Protocol

from quality.frequency import LABELS_FR
from quality.geo import TERRITORY_GEOJSON
from resources.inbox import default_home
from resources.registry.model import Dataset, Producer, Registry
from resources.warehouse import derived_name

__all__ = [
    "Dataset",
    "PortalState",
    "Producer",
    "Registry",
    "frequency_label",
    "history_table",
    "outline_bounds",
    "reports_dir",
    "territory_outline",
]


class PortalState(Protocol):
    """What the pages use of ``portal.app.Portal`` (named by shape, so this package never imports
    the application that includes it)."""

    settings: Any
    datasets: dict[str, Any]
    pool: Any


def frequency_label(frequency: str) -> str:
    return LABELS_FR.get(frequency, frequency or "non renseignée")


def history_table(table: str) -> str:
    """``published.<table>_history``'s table name (long names are shortened as the warehouse does)."""
    return derived_name(table, "_history")


def reports_dir() -> Path:
    """The batch reports' folder under ``TERRITOIRE_HOME`` (``territoire serve`` runs with it)."""
    return default_home() / "reports"


@cache
def territory_outline() -> bytes:
    """The 22 communes as GeoJSON bytes, the maps' neutral background (no tile server)."""
    return TERRITORY_GEOJSON.read_bytes()


@cache
def outline_bounds() -> tuple[float, float, float, float]:
    """(min lon, min lat, max lon, max lat) of the territory, where every map opens."""
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if coords and isinstance(coords[0], (int, float)):
            xs.append(float(coords[0]))
            ys.append(float(coords[1]))
        else:
            for part in coords:
                walk(part)

    for feature in json.loads(territory_outline())["features"]:
        walk(feature["geometry"]["coordinates"])
    return min(xs), min(ys), max(xs), max(ys)


@cache
def commune_names() -> dict[str, str]:
    """INSEE code → commune name, from the outline."""
    features = json.loads(territory_outline())["features"]
    return {f["properties"]["code"]: f["properties"]["nom"] for f in features}
