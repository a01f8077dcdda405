"""CKAN and DKAN portals replayed from real Action API responses over loopback HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REFERENCE

from resources.harvest import HarvestError, HttpPolicy, harvest
from resources.harvest.ckan import package_show, pick_resource
from resources.harvest.replay_reference import reference_routes
from resources.harvest.replay_server import ReplayServer, file_route

POLICY = HttpPolicy(timeout=5, retries=0)
SUBVENTIONS = REFERENCE / "real-world-subventions"
DKAN_XLSX = (
    "/geonetwork/srv/api/records/4b5f8e1b-de37-47cd-9203-37a59f318b09/attachments/coordonnees_antennes.xlsx"
)


@pytest.fixture(scope="module")
def xlsx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from openpyxl import Workbook

    path = tmp_path_factory.mktemp("dkan") / "coordonnees_antennes.xlsx"
    book = Workbook()
    book.active.append(["antenne", "commune"])
    book.active.append(["Lille", "59350"])
    book.save(path)
    return path


@pytest.fixture(scope="module")
def server(xlsx: Path) -> Iterator[ReplayServer]:
    routes = reference_routes(REFERENCE)
    routes[DKAN_XLSX] = file_route(xlsx, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    with ReplayServer(routes) as replay:
        yield replay


def test_ckan_resource_by_format_is_downloaded_from_the_link_the_portal_gives(server: ReplayServer) -> None:
    entry = {
        "kind": "ckan",
        "url": server.url("/ckan"),
        "dataset": "100-validated-species-of-plants",
        "resource": {"format": "csv"},
    }
    got = harvest(entry, policy=POLICY)
    assert got.content == (SUBVENTIONS / "DEP_Nievre_CD58_SUBVENTIONS_2016_LISTE.csv").read_bytes()
    assert got.file_name == "validated_100_species.csv"
    assert got.source_url.endswith("/download/validated_100_species.csv")
    assert got.metadata["title"] == "100 Validated Species of Plants"
    assert got.metadata["resource_id"] == "bf4d5116-634e-43f2-a41c-9ae22d362083"
    assert got.metadata["licence"] == "other-open"
    show = server.requests_to("/ckan/api/3/action/package_show")[-1]
    assert show.query == {"id": "100-validated-species-of-plants"}

    again = harvest(entry, previous={"etag": got.etag, "sha256": got.sha256}, policy=POLICY)
    assert again.not_modified and again.content == b""


def test_ckan_resource_by_name_from_a_package_with_organization(server: ReplayServer) -> None:
    entry = {
        "kind": "ckan",
        "url": server.url("/ckan/"),
        "dataset": "17be64bb-da74-4195-9bb8-565c39846af2",
        "resource": {"name": "20161231_RASE.csv"},
    }
    got = harvest(entry, policy=POLICY)
    assert got.content == (SUBVENTIONS / "DEP_Somme_TB_20180302_DONNEES_CONVENTIONS.csv").read_bytes()
    assert got.file_name == "20161231_RASE.csv"


def test_dkan_result_list_and_lower_case_format(server: ReplayServer, xlsx: Path) -> None:
    entry = {
        "kind": "ckan",
        "url": server.url("/dkan"),
        "dataset": "antennes-regionales",
        "resource": {"format": "XLSX"},
    }
    got = harvest(entry, policy=POLICY)
    assert got.content == xlsx.read_bytes()
    assert got.file_name == "coordonnees_antennes.xlsx"
    assert got.metadata["resource_id"] == "33f30271-cd5c-49ae-b44b-595caae16126"


def test_no_matching_resource_lists_what_exists(server: ReplayServer) -> None:
    entry = {"kind": "ckan", "url": server.url("/dkan"), "dataset": "x", "resource": {"format": "csv"}}
    with pytest.raises(
        HarvestError, match="coordonnees_antennes.xlsx \\(xlsx\\); Visionneuse mviewer"
    ) as caught:
        harvest(entry, policy=POLICY)
    assert caught.value.url == server.url("/dkan/api/3/action/package_show?id=x")


def test_unknown_dataset_is_a_clear_error_without_retry(server: ReplayServer) -> None:
    before = len(server.requests)
    with pytest.raises(HarvestError, match=r"package_show\?id=nope.*introuvable.*HTTP 404"):
        harvest({"kind": "ckan", "url": server.url("/ckan"), "dataset": "nope"}, policy=HttpPolicy(retries=3))
    assert len(server.requests) == before + 1


def test_pick_resource_on_the_real_documents() -> None:
    document = json.loads((REFERENCE / "ckan-api" / "demo.ckan.org-package_show.json").read_text())
    assert pick_resource(document["result"], {"format": ".CSV"})["name"] == "validated_100_species.csv"
    dkan = json.loads((REFERENCE / "ckan-api" / "dkan-hautsdefrance-package_show.json").read_text())
    assert pick_resource(dkan["result"][0], {"name": "Visionneuse mviewer"})["format"] == ""


def test_package_show_reads_the_dkan_list(server: ReplayServer) -> None:
    package = package_show(server.url("/dkan"), "whatever", POLICY)
    assert package["title"] and len(package["resources"]) == 2
