"""WFS 2.0 services: page through GetFeature and assemble one GeoJSON file.

Registry entry: ``{kind: wfs, url: <service endpoint>, type_name: "ns:layer", page_size: 1000?,
output_format: <forced format>?, sort_by: <attribute>?, max_pages: 10000?}``.

Without ``output_format`` the service's GetCapabilities is read first: the feature type must exist
(a typo gets the list of what does), and GeoJSON is requested if offered, GML otherwise. Pages are
requested with ``startIndex``/``count`` until one comes back short. Pages are assembled into one
RFC 7946 GeoJSON document in EPSG:4326 (the reader's geometry path), with properties kept as the
server wrote them: GeoJSON properties untouched, GML values as text (GDAL's ALWAYS_STRING, so an
INSEE code keeps its leading zero). The assembled bytes are deterministic, so sha256 detects change.

owslib is not a dependency, and what we need from capabilities is a few elements: they are read with
defusedxml (entity expansion refused) and namespace wildcards, so WFS 2.0 from GeoServer, MapServer
or deegree reads alike.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException

from quality.url_mask import mask_url
from resources.harvest.errors import HarvestError
from resources.harvest.harvested import Harvested, previous_sha
from resources.harvest.http import decode_json, request
from resources.harvest.policy import HttpPolicy

if TYPE_CHECKING:
    import numpy as np
    import pyproj

ASSEMBLY = "1"  # bump when the pages are assembled differently
_JSON_FORMATS = ("application/geo+json", "application/json", "geojson", "json")


@dataclass(frozen=True)
class FeatureType:
    name: str
    title: str | None
    default_crs: str | None
    output_formats: tuple[str, ...]


@dataclass(frozen=True)
class WfsCapabilities:
    version: str | None
    title: str | None
    feature_types: tuple[FeatureType, ...]
    get_feature_formats: tuple[str, ...]

    def feature_type(self, name: str) -> FeatureType | None:
        """By qualified name, or by local name when the prefix differs or is omitted."""
        for ft in self.feature_types:
            if ft.name == name:
                return ft
        local = name.rsplit(":", 1)[-1]
        found = [ft for ft in self.feature_types if ft.name.rsplit(":", 1)[-1] == local]
        return found[0] if len(found) == 1 else None


def parse_capabilities(document: bytes, url: str = "WFS") -> WfsCapabilities:
    root = _parse_xml(document, url)
    title = root.findtext("{*}ServiceIdentification/{*}Title")
    formats: tuple[str, ...] = ()
    for operation in root.iterfind("{*}OperationsMetadata/{*}Operation"):
        if operation.get("name") == "GetFeature":
            for parameter in operation.iterfind("{*}Parameter"):
                if parameter.get("name") == "outputFormat":
                    formats = tuple(v.text.strip() for v in parameter.iterfind(".//{*}Value") if v.text)
    feature_types = tuple(
        FeatureType(
            name=(ft.findtext("{*}Name") or "").strip(),
            title=ft.findtext("{*}Title"),
            default_crs=ft.findtext("{*}DefaultCRS") or ft.findtext("{*}DefaultSRS"),
            output_formats=tuple(f.text.strip() for f in ft.iterfind("{*}OutputFormats/{*}Format") if f.text),
        )
        for ft in root.iterfind("{*}FeatureTypeList/{*}FeatureType")
    )
    return WfsCapabilities(root.get("version"), title, feature_types, formats)


def choose_output_format(capabilities: WfsCapabilities, feature_type: FeatureType) -> str | None:
    """A GeoJSON output format if the service offers one for this type, else None (the GML default)."""
    offered = feature_type.output_formats or capabilities.get_feature_formats
    for wanted in _JSON_FORMATS:
        for value in offered:
            if value.lower().split(";")[0].strip() == wanted:
                return value
    return None


def get_capabilities(url: str, policy: HttpPolicy) -> WfsCapabilities:
    params = {"service": "WFS", "request": "GetCapabilities", "acceptVersions": "2.0.0"}
    _, body = request(url, policy=policy, params=params)
    return parse_capabilities(body, url)


def harvest_wfs(
    entry: Mapping[str, Any], previous: Mapping[str, Any] | None, policy: HttpPolicy
) -> Harvested:
    url = str(entry["url"])
    type_name = str(entry["type_name"])
    page_size = int(entry.get("page_size", 1000))
    max_pages = int(entry.get("max_pages", 10_000))
    output_format = entry.get("output_format")
    if output_format is None:
        capabilities = get_capabilities(url, policy)
        feature_type = capabilities.feature_type(type_name)
        if feature_type is None:
            known = ", ".join(ft.name for ft in capabilities.feature_types[:30]) or "aucun"
            raise HarvestError(
                url, f"type d'objets {type_name!r} absent des capacités du service ; offerts : {known}"
            )
        type_name = feature_type.name
        output_format = choose_output_format(capabilities, feature_type)

    def get_page(start: int) -> tuple[str, bytes]:
        params = {
            "service": "WFS",
            "version": "2.0.0",
            "request": "GetFeature",
            "typeNames": type_name,
            "startIndex": str(start),
            "count": str(page_size),
        }
        if output_format:
            params["outputFormat"] = str(output_format)
        if entry.get("sort_by"):
            params["sortBy"] = str(entry["sort_by"])
        response, body = request(url, policy=policy, params=params)
        received[0] += len(body)
        if received[0] > policy.max_bytes:
            raise HarvestError(url, f"réponse totale trop volumineuse : plus de {policy.max_bytes} octets")
        return str(response.url), body

    # Pages as the server sent them, counted without converting them: a WFS server sends no validator,
    # so the pages' own digest is the feed's (kept as its weak ETag). Pages identical to those the last
    # archived file was assembled from make the same bytes again: unchanged, without the conversion
    # (GDAL, PROJ) that costs seconds.
    received = [0]
    pages: list[tuple[str, bytes]] = []
    start = 0
    for _ in range(max_pages):
        pages.append(get_page(start))
        members = _member_count(pages[-1][1], f"{pages[-1][0]} (page {len(pages)})")
        if members < page_size:
            break
        start += members
    etag = _pages_etag(type_name, output_format, page_size, [body for _, body in pages])
    if previous and previous.get("etag") == etag and previous.get("sha256"):
        return Harvested(
            content=b"",
            file_name=f"{type_name.rsplit(':', 1)[-1]}.geojson",
            source_url=mask_url(url),
            etag=etag,
            last_modified=None,
            not_modified=True,
            sha256=str(previous["sha256"]),
            media_type="application/geo+json",
            metadata={"service": "wfs", "type_name": type_name, "output_format": output_format},
        )

    features: list[dict[str, Any]] = []
    used = 0
    for page_number in range(max_pages):
        if page_number >= len(pages):  # the conversion found more objects than the count: go on
            pages.append(get_page(len(features)))
        where, body = pages[page_number]
        page = _page_features(body, f"{where} (page {page_number + 1})")
        features.extend(page)
        used = page_number + 1
        if len(page) < page_size:
            break
    else:
        raise HarvestError(url, f"plus de {max_pages} pages de {page_size} objets : pagination interrompue")
    etag = _pages_etag(type_name, output_format, page_size, [body for _, body in pages[:used]])

    content = json.dumps(
        {"type": "FeatureCollection", "features": features}, ensure_ascii=False, separators=(",", ":")
    ).encode("utf-8")
    sha = hashlib.sha256(content).hexdigest()
    return Harvested(
        content=content,
        file_name=f"{type_name.rsplit(':', 1)[-1]}.geojson",
        source_url=mask_url(url),
        etag=etag,
        last_modified=None,
        not_modified=sha == previous_sha(previous),
        sha256=sha,
        media_type="application/geo+json",
        metadata={
            "service": "wfs",
            "type_name": type_name,
            "output_format": output_format,
            "count": len(features),
        },
    )


def _pages_etag(type_name: str, output_format: Any, page_size: int, bodies: list[bytes]) -> str:
    """A weak ETag of our own for the pages as received (and what they were asked as). ``ASSEMBLY``
    changes with the way pages become one file, so a new assembly is never taken for no change."""
    digest = hashlib.sha256(f"{ASSEMBLY}\0{type_name}\0{output_format}\0{page_size}\0".encode())
    for body in bodies:
        digest.update(hashlib.sha256(body).digest())
    return f'W/"wfs-pages-sha256-{digest.hexdigest()}"'


def _member_count(body: bytes, where: str) -> int:
    """How many objects one page holds, read as the server wrote them (no conversion)."""
    if body.lstrip()[:1] in (b"{", b"["):
        document = decode_json(body, where)
        if not isinstance(document, dict):
            raise HarvestError(where, "page GeoJSON illisible : un objet FeatureCollection était attendu")
        return len(document.get("features") or [])
    root = _parse_xml(body, where)
    if root.tag.endswith("ExceptionReport"):
        texts = "; ".join(t.text.strip() for t in root.iterfind(".//{*}ExceptionText") if t.text)
        raise HarvestError(where, f"le service WFS a répondu une exception : {texts or 'sans détail'}")
    count = 0
    for member in root:
        tag = member.tag.rsplit("}", 1)[-1]
        if tag in ("member", "featureMember"):
            count += 1
        elif tag == "featureMembers":
            count += len(member)
    return count


def _page_features(body: bytes, where: str) -> list[dict[str, Any]]:
    """One page as GeoJSON features in EPSG:4326."""
    if body.lstrip()[:1] in (b"{", b"["):
        document = decode_json(body, where)
        if not isinstance(document, dict):
            raise HarvestError(where, "page GeoJSON illisible : un objet FeatureCollection était attendu")
        return _geojson_to_wgs84(document.get("features") or [], _geojson_crs(document), where)
    root = _parse_xml(body, where)
    if root.tag.endswith("ExceptionReport"):
        texts = "; ".join(t.text.strip() for t in root.iterfind(".//{*}ExceptionText") if t.text)
        raise HarvestError(where, f"le service WFS a répondu une exception : {texts or 'sans détail'}")
    members = [m for m in root if m.tag.rsplit("}", 1)[-1] in ("member", "featureMember", "featureMembers")]
    if not members:
        return []
    return _gml_to_features(body, where)


def _gml_to_features(body: bytes, where: str) -> list[dict[str, Any]]:
    # GDAL and shapely are imported here: an unchanged feed is known before any page is converted.
    import pyogrio
    import shapely

    # GDAL's GML driver knows GML 3.2 geometries and srsName forms (URN axis order included); keep
    # values as text and never write a .gfs schema file beside anything.
    pyogrio.set_gdal_config_options({"GML_FIELDTYPES": "ALWAYS_STRING"})
    try:
        frame = pyogrio.read_dataframe(io.BytesIO(body), WRITE_GFS="NO")
    except Exception as exc:  # pyogrio raises several DataSourceError/FieldError kinds
        raise HarvestError(where, f"page GML illisible ({type(exc).__name__}: {exc})") from exc
    if frame.crs is None:
        raise HarvestError(where, "page GML sans système de coordonnées (srsName) : impossible de la situer")
    if frame.crs.to_epsg() != 4326:
        frame = frame.to_crs(4326)
    geometries = shapely.to_geojson(frame.geometry.array, indent=None)
    records = (
        frame.drop(columns="geometry").astype(object).where(frame.drop(columns="geometry").notna(), None)
    )
    return [
        {"type": "Feature", "geometry": json.loads(geometry) if geometry else None, "properties": properties}
        for geometry, properties in zip(geometries, records.to_dict(orient="records"), strict=True)
    ]


def _geojson_crs(document: Mapping[str, Any]) -> pyproj.CRS | None:
    import pyproj

    name = ((document.get("crs") or {}).get("properties") or {}).get("name")
    return pyproj.CRS.from_user_input(name) if name else None


def _geojson_to_wgs84(
    features: list[dict[str, Any]], crs: pyproj.CRS | None, where: str
) -> list[dict[str, Any]]:
    import pyproj
    import shapely

    if crs is None or crs.equals(pyproj.CRS.from_epsg(4326), ignore_axis_order=True) or not features:
        return features
    geometries = shapely.from_geojson(
        [json.dumps(f["geometry"]) if f.get("geometry") else "null" for f in features], on_invalid="raise"
    )
    transformer = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    moved = shapely.transform(geometries, lambda xy: _stack(transformer.transform(xy[:, 0], xy[:, 1])))
    out = []
    for feature, geometry in zip(features, shapely.to_geojson(moved), strict=True):
        out.append({**feature, "geometry": json.loads(geometry) if geometry else None})
    return out


def _stack(xy: tuple[Any, Any]) -> np.ndarray:
    import numpy as np

    return np.column_stack(xy)


def _parse_xml(document: bytes, where: str) -> Element:
    try:
        return SafeET.fromstring(document)
    except DefusedXmlException as exc:
        raise HarvestError(where, f"XML refusé (entités ou DTD dangereuses : {type(exc).__name__})") from exc
    except SafeET.ParseError as exc:
        raise HarvestError(where, f"XML illisible ({exc})") from exc
