"""What the catalogue says about the territory and each dataset, before it becomes RDF.

Frozen dataclasses filled by the portal glue (``assets/publish/portal.py``) from the registry and the
published files; ``assets/publish/catalog.py`` turns them into DCAT-AP graphs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import shapely

from assets.publish.dcat_terms import TMVL_NAME, TMVL_SIREN
from assets.publish.files import PublishedFile


def territory_polygon(
    communes_geojson: Path, insee_codes: Sequence[str], *, tolerance: float = 0.0005
) -> str:
    """The territory's outline as WKT: union of its communes, simplified (~50 m) to keep pages light."""
    import geopandas as gpd

    communes = gpd.read_file(communes_geojson).to_crs("EPSG:4326")
    chosen = communes[communes["code"].isin(list(insee_codes))]
    missing = set(insee_codes) - set(chosen["code"])
    if missing:
        raise ValueError(f"communes absentes du fichier {communes_geojson}: {sorted(missing)}")
    outline = shapely.simplify(chosen.geometry.union_all(), tolerance, preserve_topology=True)
    return shapely.to_wkt(outline, rounding_precision=5)


def dataset_identifier(base_url: str, dataset: str) -> str:
    """The stable IRI (and ``dct:identifier``) of a dataset: it depends on its name only."""
    return f"{base_url.rstrip('/')}/datasets/{dataset}"


@dataclass(frozen=True)
class CatalogMeta:
    title: str
    description: str
    base_url: str  # stable root of IRIs and download URLs, e.g. https://data.tours-metropole.fr
    spatial: str  # the territory as a GeoJSON or WKT (Multi)Polygon in WGS84 lon/lat
    publisher_name: str = TMVL_NAME
    publisher_uri: str = f"https://annuaire-entreprises.data.gouv.fr/entreprise/{TMVL_SIREN}"
    publisher_siren: str = TMVL_SIREN
    homepage: str = "https://www.tours-metropole.fr/"
    language: str = "fr"

    def download_url(self, file: PublishedFile) -> str:
        """Where a published file is served: the base URL plus its (stable) file name."""
        return f"{self.base_url.rstrip('/')}/{file.path.name}"


@dataclass(frozen=True)
class Distribution:
    file: PublishedFile
    download_url: str
    title: str | None = None
    sha1: str | None = None  # hex digest; read from ``file.path`` when not given

    def checksum_sha1(self) -> str:
        """SHA-1 of the published file: the one algorithm DCAT-AP 2.1.1 accepts for spdx:checksum."""
        if self.sha1 is not None:
            if not re.fullmatch(r"[0-9a-fA-F]{40}", self.sha1):
                raise ValueError(f"empreinte SHA-1 invalide pour {self.file.path.name} : {self.sha1!r}")
            return self.sha1.lower()
        try:
            with open(self.file.path, "rb") as handle:
                return hashlib.file_digest(handle, "sha1").hexdigest()
        except FileNotFoundError:
            raise FileNotFoundError(
                f"fichier publié introuvable, son empreinte SHA-1 ne peut être calculée : {self.file.path}"
            ) from None


@dataclass(frozen=True)
class DatasetMeta:
    identifier: str  # stable IRI, see dataset_identifier()
    title: str
    description: str
    issued: datetime | date
    modified: datetime | date
    themes: Sequence[str]  # EU data-theme IRIs, see theme()
    licence: str  # LICENCE_OUVERTE_2_0, ODBL_1_0, ...
    accrual_periodicity: str  # EU frequency IRI, see frequency()
    temporal_start: date | None = None
    temporal_end: date | None = None
    conforms_to: str | None = None  # URL of the Table Schema
    keywords: Sequence[str] = ()
    contributors: Sequence[str] = ()  # producers' names
    distributions: Sequence[Distribution] = field(default_factory=tuple)
