"""OpenDataSoft Explore API v2.1 replayed over loopback: metadata (v2.1 and v2.0 shapes) and exports."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from conftest import REFERENCE

from resources.harvest import HarvestError, HttpPolicy, harvest
from resources.harvest.opendatasoft import dataset_metadata
from resources.harvest.replay_reference import reference_routes
from resources.harvest.replay_server import ReplayServer

POLICY = HttpPolicy(timeout=5, retries=0)
GEONAMES = "geonames-all-cities-with-a-population-1000"
DATASETS = "/ods/api/explore/v2.1/catalog/datasets"


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    with ReplayServer(reference_routes(REFERENCE)) as replay:
        yield replay


def test_geojson_export_with_where_filter(server: ReplayServer) -> None:
    entry = {
        "kind": "opendatasoft",
        "url": server.url("/ods"),
        "dataset": GEONAMES,
        "format": "geojson",
        "where": "departement = '29'",
        "params": {"lang": "fr"},
    }
    got = harvest(entry, policy=POLICY)
    expected = (REFERENCE / "opendatasoft-api" / "exports" / "festivals-du-finistere.geojson").read_bytes()
    assert got.content == expected
    assert len(json.loads(got.content)["features"]) == 55
    assert got.file_name == f"{GEONAMES}.geojson" and got.media_type == "application/geo+json"
    export = server.requests_to(f"{DATASETS}/{GEONAMES}/exports/geojson")[-1]
    assert export.query == {"where": "departement = '29'", "lang": "fr"}
    assert got.metadata["title"] == "Geonames - All Cities with a population > 1000"
    assert got.metadata["modified"] == "2021-06-23T07:50:20+00:00"
    assert "geoname_id" in got.metadata["fields"]


def test_csv_export_asks_for_commas_and_honours_304(server: ReplayServer) -> None:
    entry = {"kind": "opendatasoft", "url": server.url("/ods"), "dataset": GEONAMES}
    got = harvest(entry, policy=POLICY)
    assert got.file_name == f"{GEONAMES}.csv" and got.content.startswith(b"\xef\xbb\xbf") is False
    assert server.requests_to(f"{DATASETS}/{GEONAMES}/exports/csv")[-1].query == {"delimiter": ","}
    again = harvest(entry, previous={"etag": got.etag, "sha256": got.sha256}, policy=POLICY)
    assert again.not_modified and again.sha256 == got.sha256


def test_v2_0_shaped_metadata_is_read(server: ReplayServer) -> None:
    meta = dataset_metadata(server.url("/ods"), "fichier-fantoir-des-voies-et-lieux-dits", POLICY)
    assert meta["title"] == "Fichier FANTOIR des voies et lieux-dits"
    assert meta["licence"] == "Licence Ouverte v2.0 (Etalab)"
    assert meta["dataset_uid"] == "da_ui3fhc"


def test_unknown_dataset_and_format_are_clear_errors(server: ReplayServer) -> None:
    with pytest.raises(HarvestError, match="jeu de données OpenDataSoft introuvable.*HTTP 404"):
        harvest({"kind": "opendatasoft", "url": server.url("/ods"), "dataset": "absent"}, policy=POLICY)
    with pytest.raises(HarvestError, match="format d'export 'xlsx' non pris en charge"):
        harvest({"kind": "opendatasoft", "url": server.url("/ods"), "dataset": GEONAMES, "format": "xlsx"})
