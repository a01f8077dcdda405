"""Read a geographic file (GeoJSON, zipped Shapefile, GeoPackage, WFS GML) into a staged frame.

The attributes become text columns as in :mod:`assets.read.dispatch`, plus a ``geometry`` column in EWKT
``SRID=4326;...`` reprojected from the file's CRS. GDAL (through pyogrio) does the reading and pyproj
the reprojection; only the decisions GDAL cannot make are here:

- **Index** = feature number, starting at 1 in file order (features have no "row" a person sees; the
  first feature is 1 as the first data row of a sheet is 2).
- **Missing CRS**: a file that says nothing (or a GeoJSON whose coordinates are obviously not degrees)
  and whose coordinates all fall in the Lambert-93 range is taken as EPSG:2154 with a warning — the
  legal projection of metropolitan France, and by far the most common unlabelled case. Coordinates
  that are neither degrees nor Lambert-93 cannot be placed: geometries are left empty, with a warning.
- **Invalid geometries** (self-intersecting rings…) are repaired with shapely ``make_valid`` and
  counted in ``geometries_repaired``; one that cannot be repaired is left empty with a warning.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import shapely

from assets.read.cells import cell_text
from assets.read.rows import unique_headers
from assets.read.safety import XML_PROLOG_BYTES, UnsafeFile, check_xml_prolog, inspect_zip, safe_extract
from assets.read.staged import RefusedFile, StagedTable

# Lambert-93 (EPSG:2154) projected bounds of metropolitan France, with a margin (IGN: x 100-1250 km,
# y 6040-7120 km).
LAMBERT93_BOUNDS = (0.0, 6_000_000.0, 1_300_000.0, 7_200_000.0)
# Longitude/latitude: anything inside is taken as degrees.
DEGREE_BOUNDS = (-180.0, -90.0, 180.0, 90.0)
# Decimals kept in EWKT: 8 decimals of a degree is about a millimetre, finer is reprojection noise.
WKT_DECIMALS = 8
# GDAL loads a GeoJSON in memory; a larger one is a harvest error or an attack, not a layer.
MAX_GEO_BYTES = 1024**3
TARGET_SRID = 4326

# GDAL would otherwise fetch remote XSD schemas named in a WFS response (network access while reading a
# file, and an SSRF vector) and write .gfs files beside the input.
pyogrio.set_gdal_config_options(
    {"GML_DOWNLOAD_WFS_SCHEMA": "NO", "GDAL_HTTP_TIMEOUT": "1", "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".none"}
)


def read_geo(path: Path) -> StagedTable:
    """Read a GeoJSON / zipped Shapefile / GeoPackage / GML file; raise RefusedFile when it is not one."""
    path = Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        raise RefusedFile(path, "empty", "il est vide ou introuvable")
    if path.stat().st_size > MAX_GEO_BYTES:
        raise RefusedFile(path, "too-large", f"il dépasse {MAX_GEO_BYTES // 1024**2} Mo")
    with path.open("rb") as fh:
        head = fh.read(XML_PROLOG_BYTES)
    if head.startswith(b"PK\x03\x04"):
        return _read_zipped(path)
    if head.lstrip().startswith(b"<"):
        try:
            check_xml_prolog(head, path.name)
        except UnsafeFile as exc:
            raise RefusedFile(path, exc.reason, str(exc)) from None
        return _read_layer(path, path, "gml")
    fmt = {".gpkg": "gpkg", ".shp": "shapefile", ".kml": "kml"}.get(path.suffix.lower(), "geojson")
    return _read_layer(path, path, fmt)


def _read_zipped(path: Path) -> StagedTable:
    try:
        entries = inspect_zip(path)
    except UnsafeFile as exc:
        raise RefusedFile(path, exc.reason, str(exc)) from None
    shapefiles = sorted(e.filename for e in entries if e.filename.lower().endswith(".shp"))
    if not shapefiles:
        raise RefusedFile(path, "unsupported-format", "l'archive ne contient pas de Shapefile (.shp)")
    with tempfile.TemporaryDirectory(prefix="territoire-shp-") as tmp:
        try:
            safe_extract(path, entries, Path(tmp))
        except UnsafeFile as exc:
            raise RefusedFile(path, exc.reason, str(exc)) from None
        except (zipfile.BadZipFile, OSError) as exc:
            raise RefusedFile(path, "corrupt", f"l'archive est corrompue ({exc})") from None
        staged = _read_layer(path, Path(tmp) / shapefiles[0], "shapefile")
    if len(shapefiles) > 1:
        staged.warnings.append(
            f"L'archive contient {len(shapefiles)} couches Shapefile ; seule « {shapefiles[0]} » est lue."
        )
    return staged


def _read_layer(display: Path, source: Path, fmt: str) -> StagedTable:
    warnings: list[str] = []
    try:
        if fmt == "gml":
            # Listing layers of a GML makes GDAL write a .gfs file beside it (possibly in a read-only
            # archive); a WFS response holds one feature type anyway.
            layers: list = []
            gdf = pyogrio.read_dataframe(source, WRITE_GFS="NO")
        else:
            layers = pyogrio.list_layers(source)
            gdf = pyogrio.read_dataframe(source, layer=layers[0][0] if len(layers) else None)
    except Exception as exc:  # GDAL raises DataSourceError/DataLayerError/… for unreadable files
        raise RefusedFile(
            display, "unsupported-format", f"GDAL ne sait pas le lire comme couche géographique ({exc})"
        ) from None
    if len(layers) > 1:
        warnings.append(f"Le fichier contient {len(layers)} couches ; seule « {layers[0][0]} » est lue.")
    if gdf.empty:
        raise RefusedFile(display, "header-only", "la couche ne contient aucun objet")

    geometry = gdf.geometry
    geoms = geometry.to_numpy()
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    crs = gdf.crs
    bounds = shapely.total_bounds(geoms[present]) if present.any() else None
    in_degrees = bounds is not None and _inside(bounds, DEGREE_BOUNDS)
    in_lambert = bounds is not None and _inside(bounds, LAMBERT93_BOUNDS)
    is_geographic = crs is not None and crs.is_geographic
    if bounds is not None and (crs is None or (is_geographic and not in_degrees)):
        if in_lambert:
            geometry = geometry.set_crs(2154, allow_override=True)
            warnings.append(
                "Le fichier n'indique pas de système de coordonnées utilisable ; "
                "ses coordonnées sont celles du Lambert-93 (EPSG:2154), qui a été supposé."
            )
        elif in_degrees:
            geometry = geometry.set_crs(TARGET_SRID, allow_override=True)
            warnings.append(
                "Le fichier n'indique pas de système de coordonnées ; longitude/latitude WGS 84 supposées."
            )
        else:
            warnings.append(
                "Le système de coordonnées du fichier est inconnu et ses coordonnées "
                "ne sont ni en degrés ni en Lambert-93 : les géométries sont laissées vides."
            )
            geometry = None
    repaired = 0
    if geometry is not None:
        geometry = geometry.to_crs(TARGET_SRID)
        geoms = geometry.to_numpy()
        invalid = present & ~shapely.is_valid(geoms)
        if invalid.any():
            fixed = shapely.make_valid(geoms[invalid])
            ok = shapely.is_valid(fixed) & ~shapely.is_empty(fixed)
            geoms = geoms.copy()
            geoms[np.flatnonzero(invalid)[ok]] = fixed[ok]
            geoms[np.flatnonzero(invalid)[~ok]] = None
            repaired = int(ok.sum())
            if repaired:
                warnings.append(f"{repaired} géométrie(s) invalide(s) réparée(s) (make_valid).")
            if (~ok).any():
                lost = (np.flatnonzero(invalid)[~ok] + 1).tolist()
                warnings.append(
                    f"{len(lost)} géométrie(s) irréparable(s) laissée(s) vide(s) (objet(s) {lost[:10]})."
                )
        wkt = shapely.to_wkt(geoms, rounding_precision=WKT_DECIMALS, trim=True)
        has = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
        ewkt = np.where(has, np.char.add(f"SRID={TARGET_SRID};", np.asarray(wkt, dtype=str)), "")
    else:
        ewkt = np.full(len(gdf), "", dtype=object)

    attributes = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    columns = unique_headers([*map(str, attributes.columns), "geometry"])
    frame = pd.DataFrame(
        {name: _text_column(attributes[col]) for name, col in zip(columns, attributes.columns, strict=False)},
        dtype=object,
    )
    frame.index = pd.RangeIndex(1, len(gdf) + 1).astype("int64")
    frame[columns[-1]] = pd.Series(ewkt.astype(object), index=frame.index, dtype=object)
    return StagedTable(
        frame=frame,
        format=fmt,
        encoding="utf-8",
        delimiter=None,
        header_line=None,
        sheet=None,
        blank_lines_dropped=0,
        warnings=warnings,
        geometries_repaired=repaired,
    )


def _inside(bounds: np.ndarray, box: tuple[float, float, float, float]) -> bool:
    return bool(bounds[0] >= box[0] and bounds[1] >= box[1] and bounds[2] <= box[2] and bounds[3] <= box[3])


def _text_column(series: pd.Series) -> np.ndarray:
    """Attribute values as text. Per value (geo layers are thousands of features, not millions) because
    GDAL hands back mixed Python objects: numbers, dates, lists."""

    def one(value: object) -> str:
        if isinstance(value, np.ndarray | list | tuple):
            return json.dumps(
                [v.item() if isinstance(v, np.generic) else v for v in value], ensure_ascii=False
            )
        if isinstance(value, np.generic):
            value = value.item()
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
            return ""
        if isinstance(value, pd.Timestamp):
            value = value.to_pydatetime()
        text = cell_text(value)
        # JSON "\ud800" escapes reach us as lone surrogates, which no encoder downstream accepts.
        return text.encode("utf-8", "replace").decode("utf-8") if _has_surrogate(text) else text

    return np.asarray([one(v) for v in series.to_numpy(dtype=object)], dtype=object)


def _has_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False
