"""WFS 2.0: capabilities parsing and paged GetFeature over loopback, from real recorded responses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely
from conftest import REFERENCE

from resources.harvest import HarvestError, HttpPolicy, harvest
from resources.harvest.replay_reference import reference_routes
from resources.harvest.replay_server import ReplayServer, Reply, wfs_route
from resources.harvest.wfs import choose_output_format, parse_capabilities

WFS = REFERENCE / "wfs"
POLICY = HttpPolicy(timeout=10, retries=0)
GML_32 = "application/gml+xml; version=3.2"


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer(reference_routes(REFERENCE)) as replay:
        yield replay


def test_capabilities_of_geoserver_offer_geojson() -> None:
    caps = parse_capabilities((WFS / "owslib-dov-geoserver-wfs200-getcapabilities.xml").read_bytes())
    assert caps.version == "2.0.0"
    assert [ft.name for ft in caps.feature_types] == ["gw_meetnetten:meetnetten"]
    assert caps.feature_types[0].default_crs == "urn:ogc:def:crs:EPSG::31370"
    assert "application/json" in caps.get_feature_formats
    assert choose_output_format(caps, caps.feature_types[0]) == "application/json"
    assert caps.feature_type("meetnetten") is caps.feature_types[0]


def test_capabilities_offering_only_gml_fall_back_to_gml() -> None:
    caps = parse_capabilities((WFS / "owslib-cuzk-wfs200-getcapabilities.xml").read_bytes())
    assert [ft.name for ft in caps.feature_types][:2] == ["CP:CadastralBoundary", "CP:CadastralParcel"]
    parcel = caps.feature_type("CP:CadastralParcel")
    assert parcel is not None and parcel.output_formats == ("text/xml; subtype=gml/3.2.1",)
    assert choose_output_format(caps, parcel) is None


def test_gml_pages_are_assembled_into_one_geojson_in_wgs84(server: ReplayServer) -> None:
    entry = {
        "kind": "wfs",
        "url": server.url("/wfs"),
        "type_name": "gp-urba:PRESCRIPTION_SURF",
        "page_size": 7,
        "output_format": GML_32,
    }
    got = harvest(entry, policy=POLICY)
    pages = [
        r.query for r in server.requests_to("/wfs") if r.query.get("typeNames") == "gp-urba:PRESCRIPTION_SURF"
    ]
    assert [p["startIndex"] for p in pages[-5:]] == [
        "0",
        "7",
        "14",
        "21",
        "28",
    ]  # 7+7+7+7+2: short page stops
    assert all(p["count"] == "7" and p["outputFormat"] == GML_32 for p in pages[-5:])
    assert got.file_name == "PRESCRIPTION_SURF.geojson" and got.media_type == "application/geo+json"

    document = json.loads(got.content)
    assert len(document["features"]) == 30
    ids = [f["properties"]["gml_id"] for f in document["features"]]
    assert ids[0] == "PRESCRIPTION_SURF.3294" and len(set(ids)) == 30
    first = document["features"][0]["properties"]
    assert first["TYPEPSC"] == "05" and first["INSEE"] == "56118"  # text kept: leading zeros survive

    # Same geometries as reading the whole recorded response at once, reprojected from Lambert-93.
    whole = gpd.read_file((WFS / "geobretagne-wfs200-getfeature-PRESCRIPTION_SURF.gml").read_bytes()).to_crs(
        4326
    )
    ours = shapely.from_geojson([json.dumps(f["geometry"]) for f in document["features"]])
    assert shapely.equals_exact(ours, whole.geometry.array, tolerance=1e-9).all()
    lon, lat = ours[0].centroid.x, ours[0].centroid.y
    assert -3.5 < lon < -3.2 and 47.6 < lat < 47.8  # Lorient

    again = harvest(entry, previous={"sha256": got.sha256}, policy=POLICY)
    assert again.not_modified and again.content == got.content

    # The pages' own digest is the feed's validator: the same pages are known unchanged before any
    # conversion (territoire run asks every feed at every run); other pages, or another assembly, are not.
    assert got.etag and got.etag.startswith('W/"wfs-pages-sha256-')
    unchanged = harvest(entry, previous={"sha256": got.sha256, "etag": got.etag}, policy=POLICY)
    assert unchanged.not_modified and unchanged.sha256 == got.sha256 and unchanged.etag == got.etag
    smaller_pages = harvest(
        {**entry, "page_size": 8}, previous={"sha256": "0" * 64, "etag": got.etag}, policy=POLICY
    )
    assert not smaller_pages.not_modified and smaller_pages.etag != got.etag
    assert [f["properties"]["gml_id"] for f in json.loads(smaller_pages.content)["features"]] == ids


def test_page_size_equal_to_total_needs_one_empty_page(server: ReplayServer) -> None:
    entry = {
        "kind": "wfs",
        "url": server.url("/wfs"),
        "type_name": "gp-urba:INFO_PCT",
        "page_size": 3,
        "output_format": GML_32,
    }
    got = harvest(entry, policy=POLICY)
    assert json.loads(got.content)["features"][2]["properties"]["LIBELLE"] == "Site archéologique"
    assert len(json.loads(got.content)["features"]) == 3
    starts = [
        r.query["startIndex"]
        for r in server.requests_to("/wfs")
        if r.query.get("typeNames") == "gp-urba:INFO_PCT"
    ]
    assert starts == ["0", "3"]


def test_capabilities_negotiate_geojson_and_pages_are_merged(server: ReplayServer) -> None:
    entry = {"kind": "wfs", "url": server.url("/geoserver/wfs"), "type_name": "meetnetten", "page_size": 20}
    got = harvest(entry, policy=POLICY)
    calls = server.requests_to("/geoserver/wfs")
    assert calls[0].query["request"] == "GetCapabilities"
    assert [c.query["startIndex"] for c in calls[1:]] == ["0", "20", "40"]
    assert all(
        c.query["outputFormat"] == "application/json" and c.query["typeNames"] == "gw_meetnetten:meetnetten"
        for c in calls[1:]
    )
    recorded = json.loads(
        (REFERENCE / "opendatasoft-api/exports/festivals-du-finistere.geojson").read_bytes()
    )
    assert json.loads(got.content)["features"] == recorded["features"]  # GeoJSON properties untouched


def test_unknown_feature_type_lists_the_offered_ones(server: ReplayServer) -> None:
    entry = {"kind": "wfs", "url": server.url("/geoserver/wfs"), "type_name": "ms:communes"}
    with pytest.raises(HarvestError, match="'ms:communes' absent.*offerts : gw_meetnetten:meetnetten"):
        harvest(entry, policy=POLICY)


def test_service_exception_is_reported(server: ReplayServer) -> None:
    entry = {"kind": "wfs", "url": server.url("/wfs"), "type_name": "gp-urba:ABSENT", "output_format": GML_32}
    with pytest.raises(HarvestError, match="HTTP 400 Bad Request — Unknown feature type gp-urba:ABSENT"):
        harvest(entry, policy=POLICY)


def test_exception_report_sent_with_200_is_reported() -> None:
    report = (
        b'<?xml version="1.0"?>'
        b'<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="2.0.0">'
        b'<ows:Exception exceptionCode="OperationProcessingFailed"><ows:ExceptionText>Query timeout'
        b"</ows:ExceptionText></ows:Exception></ows:ExceptionReport>"
    )
    routes = {"/mapserver": lambda request: Reply(200, report, {"Content-Type": "text/xml"})}
    with ReplayServer(routes) as replay:
        entry = {"kind": "wfs", "url": replay.url("/mapserver"), "type_name": "a:b", "output_format": GML_32}
        with pytest.raises(
            HarvestError, match=r"\(page 1\): le service WFS a répondu une exception : Query timeout"
        ):
            harvest(entry, policy=POLICY)


def test_xml_entity_bomb_is_refused() -> None:
    bomb = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><x>&b;</x>'
    with pytest.raises(HarvestError, match="XML refusé"):
        parse_capabilities(bomb)


def test_geojson_pages_in_lambert93_are_reprojected(tmp_path: Path) -> None:
    # GeoServer's application/json keeps the layer's CRS and names it in a "crs" member.
    points = gpd.read_file((WFS / "geobretagne-wfs200-getfeature-INFO_PCT.gml").read_bytes())
    page = tmp_path / "info_pct_2154.geojson"
    pyogrio.write_dataframe(points, page, driver="GeoJSON")
    assert "EPSG::2154" in json.loads(page.read_text())["crs"]["properties"]["name"]
    routes = {
        "/geoserver/wfs": wfs_route(WFS / "owslib-dov-geoserver-wfs200-getcapabilities.xml", {"pct": page})
    }
    with ReplayServer(routes) as replay:
        entry = {
            "kind": "wfs",
            "url": replay.url("/geoserver/wfs"),
            "type_name": "pct",
            "page_size": 2,
            "output_format": "application/json",
        }
        got = harvest(entry, policy=POLICY)
    features = json.loads(got.content)["features"]
    assert [f["properties"]["gml_id"] for f in features] == ["INFO_PCT.356", "INFO_PCT.357", "INFO_PCT.358"]
    ours = shapely.from_geojson([json.dumps(f["geometry"]) for f in features])
    expected = points.to_crs(4326).geometry.array
    assert shapely.equals_exact(ours, expected, tolerance=1e-9).all()
