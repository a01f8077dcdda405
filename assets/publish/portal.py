"""What the portal harvests: each dataset's files, the DCAT-AP catalogue and the coverage scoreboard.

Glue between the registry and the pure writers of ``files.py`` and ``catalog.py`` (beside it) and
``quality/reports/scoreboard.py``: it turns registry entries and published frames into their inputs.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from assets.publish.catalog import build_catalog, write_catalog
from assets.publish.catalog_meta import (
    CatalogMeta,
    DatasetMeta,
    Distribution,
    dataset_identifier,
    territory_polygon,
)
from assets.publish.dcat_terms import LICENCE_OUVERTE_2_0, ODBL_1_0, frequency, theme
from assets.publish.files import PublishedFile, write_publication
from quality.atomic import write_bytes_atomically
from quality.frequency import EU_CODES
from quality.geo import GEOMETRY_TYPES, TERRITORY_GEOJSON
from quality.holds import hold_rows
from quality.plausible import coverage
from quality.reports.scoreboard import write_scoreboard
from quality.schema import TableSchema, load_schema
from resources.registry.model import Dataset, Registry
from resources.warehouse import LINEAGE

LICENCES = {"etalab-2.0": LICENCE_OUVERTE_2_0, "odbl-1.0": ODBL_1_0}
MANIFEST = "manifest.json"


def publish_files(
    frame: pd.DataFrame,
    dataset: Dataset,
    schema: TableSchema,
    contributors: list[str],
    publish_dir: Path,
    *,
    version: tuple[int, datetime] | None = None,
    today: date | None = None,
) -> list[PublishedFile]:
    """The dataset's files (CSV, Parquet, and GeoJSON when it has a geometry), recorded in the manifest.

    ``version`` is the (number, published_at) of the version ``frame`` holds: the manifest and the
    catalogue date the files by it, not by when they were written (a held or unchanged publication
    rewrites the files of the version already out).
    """
    geometry = next((f.name for f in schema.fields if f.type in GEOMETRY_TYPES), None)
    columns = [c for c in [*schema.field_names, *LINEAGE] if c in frame.columns]
    files = write_publication(
        frame[columns], dataset.id, publish_dir, geometry_column=geometry, schema=schema
    )
    start, end = temporal_coverage(frame, schema, today or datetime.now(UTC).date())
    published_at = version[1] if version else datetime.now(UTC)
    entry = {
        "rows": len(frame),
        "schema": schema.ref,
        "version": version[0] if version else None,
        "published_at": published_at.isoformat(timespec="seconds"),
        "temporal": [start.isoformat() if start else None, end.isoformat() if end else None],
        "contributors": contributors,
        "files": [asdict(f) | {"path": f.path.name} for f in files],
    }
    manifest = read_manifest(publish_dir)
    manifest[dataset.id] = entry
    write_bytes_atomically(
        json.dumps(manifest, ensure_ascii=False, indent=1).encode(), publish_dir / MANIFEST
    )
    return files


def read_manifest(publish_dir: Path) -> dict[str, dict]:
    """``manifest.json``: every published dataset's files with size and sha256, its coverage and producers."""
    path = publish_dir / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


def temporal_coverage(
    frame: pd.DataFrame, schema: TableSchema, today: date | None = None
) -> tuple[date | None, date | None]:
    """First and last plausible date of the schema's first date field, the dataset's temporal
    coverage; dates before 1900 or more than a year ahead are typos, not coverage
    (``quality/plausible.py``)."""
    field = next((f.name for f in schema.fields if f.type == "date" and f.name in frame.columns), None)
    if field is None or frame.empty:
        return None, None
    return coverage(frame[field], today or datetime.now(UTC).date())


def schema_url(schema: TableSchema) -> str | None:
    """The URL of the very version of the schema the files follow, for ``dct:conformsTo``.

    The descriptor's ``path`` when it names that version (upstream descriptors sometimes carry the
    previous release's path: arbres 0.3.1 says v0.2.2); otherwise the forge's raw file at the
    version's tag, or ``<homepage>/<version>/schema.json`` for the territory's own schemas, which
    the portal serves (:func:`write_portal_catalogue` writes them).
    """
    path = schema.descriptor.get("path")
    bare = schema.version.removeprefix("v")
    if path and re.search(rf"(?<![\w.])v?{re.escape(bare)}(?![\w.])", path):
        return path
    homepage = (schema.descriptor.get("homepage") or "").rstrip("/")
    if not homepage:
        return path
    if re.match(r"https://(github\.com|gitlab\.com)/", homepage):
        tag = schema.version if schema.version.startswith("v") else f"v{schema.version}"
        return f"{homepage}/raw/{tag}/schema.json"
    return f"{homepage}/{schema.version}/schema.json"


def write_portal_catalogue(registry: Registry, publish_dir: Path) -> list[Path]:
    """The DCAT-AP catalogue of every dataset in the manifest, in Turtle, JSON-LD and RDF/XML."""
    territory = registry.territory
    communes = [p.insee for p in registry.producers if p.kind == "commune" and p.insee]
    catalog = CatalogMeta(
        title=f"Données ouvertes du territoire — {territory.name}",
        description=(
            f"Jeux de données mutualisés de {territory.name} et de ses {len(communes)} communes, "
            "harmonisés aux schémas nationaux (SCDL, schema.data.gouv.fr) et validés."
        ),
        base_url=territory.base_url,
        spatial=territory_polygon(TERRITORY_GEOJSON, communes),
        homepage=territory.homepage or territory.base_url,
    )
    entries = []
    for dataset_id, info in sorted(read_manifest(publish_dir).items()):
        if dataset_id not in registry.datasets:
            continue
        dataset = registry.dataset(dataset_id)
        schema = load_schema(info["schema"])
        published_at = datetime.fromisoformat(info["published_at"])
        start, end = (date.fromisoformat(d) if d else None for d in info["temporal"])
        files = [PublishedFile(**(f | {"path": publish_dir / f["path"]})) for f in info["files"]]
        conforms_to = schema_url(schema)
        _serve_own_schema(schema, conforms_to, territory.base_url, publish_dir)
        entries.append(
            DatasetMeta(
                identifier=dataset_identifier(territory.base_url, dataset.id),
                title=dataset.title,
                description=dataset.description or dataset.title,
                issued=published_at,
                modified=published_at,
                themes=[theme(dataset.theme)],
                licence=LICENCES[dataset.licence],
                accrual_periodicity=frequency(EU_CODES[dataset.frequency]),
                temporal_start=start,
                temporal_end=end,
                conforms_to=conforms_to,
                keywords=dataset.keywords,
                contributors=info["contributors"],
                distributions=[Distribution(file=f, download_url=catalog.download_url(f)) for f in files],
            )
        )
    return write_catalog(build_catalog(catalog, entries), publish_dir)


def _serve_own_schema(schema: TableSchema, url: str | None, base_url: str, publish_dir: Path) -> None:
    """A schema the territory publishes itself is served where ``conformsTo`` points."""
    base = base_url.rstrip("/") + "/"
    if url and url.startswith(base):
        target = (publish_dir / url.removeprefix(base)).resolve()
        if target.is_relative_to(publish_dir.resolve()):
            write_bytes_atomically(Path(schema.path).read_bytes(), target)


def scoreboard_inputs(
    registry: Registry, batches: pd.DataFrame
) -> tuple[list[dict], list[dict], pd.DataFrame]:
    """Producers, datasets and batches as the scoreboard reads them (dataset ids, not table names)."""
    producers = [p.model_dump() for p in registry.producers]
    datasets = [
        {
            "id": d.id,
            "title": d.title,
            "schema": d.schema_ref,
            "frequency": d.frequency,
            "expected_from": registry.expected_producers(d),
            "description": d.description,
            "licence": d.licence,
        }
        for d in registry.datasets.values()
    ]
    batches = batches.copy()
    if "dataset" in batches.columns:
        by_table = {d.table: d.id for d in registry.datasets.values()}
        batches["dataset"] = batches["dataset"].map(lambda t: by_table.get(t, t))
    return producers, datasets, batches


def write_portal_scoreboard(
    registry: Registry, batches: pd.DataFrame, publish_dir: Path, holds: list[dict] | None = None
) -> Path:
    """``publish/index.html``: producers × datasets, who delivered what and how good it is, and which
    changes wait for approval (``holds`` as ``Warehouse.holds`` returns them)."""
    producers, datasets, batches = scoreboard_inputs(registry, batches)
    return write_scoreboard(
        producers,
        datasets,
        batches,
        publish_dir,
        "../reports",
        datetime.now(UTC),
        hold_rows(holds, {d.table: d.id for d in registry.datasets.values()}),
    )
