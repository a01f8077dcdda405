"""GTFS: fetching the zip over loopback, reading stops/routes, consistency and hostile archives."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator

import pytest
from conftest import REFERENCE

from assets.read.gtfs import GtfsError, read_gtfs
from resources.harvest import HarvestError, HttpPolicy, harvest
from resources.harvest.replay_reference import reference_routes
from resources.harvest.replay_server import ReplayServer, file_route

FEED = REFERENCE / "gtfs" / "frioul-if-express-marseille-gtfs.zip"


def _members() -> dict[str, bytes]:
    with zipfile.ZipFile(FEED) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def _rows(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))


@pytest.fixture(scope="module")
def server() -> Iterator[ReplayServer]:
    routes = reference_routes(REFERENCE)
    routes["/not-a-zip"] = file_route(REFERENCE / "wfs" / "SOURCE.md", "application/zip")
    with ReplayServer(routes) as replay:
        yield replay


def test_fetch_gtfs_zip(server: ReplayServer) -> None:
    got = harvest({"kind": "gtfs", "url": server.url("/gtfs/frioul.zip")}, policy=HttpPolicy(retries=0))
    assert got.content == FEED.read_bytes() and got.file_name == "frioul.zip"
    assert got.media_type == "application/zip"
    again = harvest({"kind": "gtfs", "url": server.url("/gtfs/frioul.zip")}, previous=got.__dict__)
    assert again.not_modified and again.content == b""


def test_fetch_refuses_what_is_not_a_zip(server: ReplayServer) -> None:
    with pytest.raises(HarvestError, match="n'est pas une archive zip"):
        harvest({"kind": "gtfs", "url": server.url("/not-a-zip")}, policy=HttpPolicy(retries=0))


def test_stops_carry_coordinates_and_serving_routes() -> None:
    feed = read_gtfs(FEED.read_bytes())
    members = _members()
    raw_stops = _rows(members["stops.txt"])
    assert list(feed.stops.columns[:5]) == ["stop_id", "stop_name", "lat", "lon", "routes"]
    assert feed.stops["stop_id"].tolist() == [r["stop_id"] for r in raw_stops]  # BOM stripped from the header
    assert feed.stops.index.tolist() == list(range(2, 2 + len(raw_stops)))
    assert feed.stops.loc[2, ["stop_name", "lat", "lon"]].tolist() == [
        "Frioul",
        "43.2801358236",
        "5.3070491308",
    ]
    assert all(isinstance(v, str) for v in feed.stops.to_numpy().ravel())

    # Independent computation from the raw files: which route short names stop at each stop (or station).
    route_of_trip = {t["trip_id"]: t["route_id"] for t in _rows(members["trips.txt"])}
    short = {r["route_id"]: r["route_short_name"] for r in _rows(members["routes.txt"])}
    parent = {s["stop_id"]: s["parent_station"] for s in raw_stops}
    expected: dict[str, set[str]] = {}
    for st in _rows(members["stop_times.txt"]):
        name = short[route_of_trip[st["trip_id"]]]
        expected.setdefault(st["stop_id"], set()).add(name)
        if parent.get(st["stop_id"]):
            expected.setdefault(parent[st["stop_id"]], set()).add(name)
    got = dict(zip(feed.stops["stop_id"], feed.stops["routes"], strict=True))
    assert got == {s: ";".join(sorted(expected.get(s, set()))) for s in got}
    assert got["S14944"] == "1"  # a station is served by its platforms' lines

    assert feed.routes["route_short_name"].tolist() == ["1"]
    assert feed.consistency_errors().empty


def test_routes_are_listed_in_natural_order_and_fall_back_to_long_names() -> None:
    members = _members()
    members["routes.txt"] = (
        b"route_id,agency_id,route_short_name,route_long_name,route_type\r\n"
        b'L1,76,"10","Marseille If Frioul",3\r\nL2,76,"2","Navette",3\r\nL3,76,"","Tempo",3\r\n'
    )
    members["trips.txt"] += b"L2,SD-TR15,T2,Frioul,0,,,,\r\nL3,SD-TR15,T3,Frioul,0,,,,\r\n"
    members["stop_times.txt"] += b"T2,12:00:00,12:00:00,7001,1,,\r\nT3,12:00:00,12:00:00,7001,1,,\r\n"
    members["stops.txt"] += '7999,FR999,"Quai fermé",43.29,5.37,0,\r\n'.encode()
    stops = read_gtfs(_zip(members)).stops.set_index("stop_id")
    assert stops.loc["7001", "routes"] == "2;10;Tempo"
    assert stops.loc["S14946", "routes"] == "2;10;Tempo"
    assert stops.loc["7999", "routes"] == ""  # no trip stops there


def test_consistency_errors_name_file_row_and_value() -> None:
    members = _members()
    members["stop_times.txt"] += b"7674216,12:00:00,12:00:00,9999,4,,\r\nGHOST,12:00:00,12:00:00,7001,1,,\r\n"
    members["trips.txt"] += b"L9,SD-TR15,T9,Nulle part,0,,,,\r\n"
    members["stops.txt"] += b"7001,X,Doublon,43.2,5.3,0,S14946\r\n7010,Y,Orphelin,43.2,5.3,0,S99\r\n"
    feed = read_gtfs(_zip(members))
    errors = feed.consistency_errors()
    assert errors[["file", "row", "field", "rule", "value"]].values.tolist() == [
        ["stop_times.txt", 142, "stop_id", "reference", "9999"],
        ["stop_times.txt", 143, "trip_id", "reference", "GHOST"],
        ["trips.txt", 63, "route_id", "reference", "L9"],
        ["stops.txt", 12, "parent_station", "reference", "S99"],
        ["stops.txt", 11, "stop_id", "unique", "7001"],
    ]
    assert errors.loc[0, "message"] == (
        "stop_times.txt ligne 142 : l'arrêt « 9999 » (stop_id) n'existe pas dans stops.txt"
    )


def test_feed_in_a_subfolder_is_read() -> None:
    members = {f"export/{name}": data for name, data in _members().items()}
    assert len(read_gtfs(_zip(members)).stops) == 9


def test_missing_file_is_named() -> None:
    members = _members()
    del members["trips.txt"]
    with pytest.raises(GtfsError, match="absent\\(s\\) : trips.txt") as caught:
        read_gtfs(_zip(members), name="reseau.zip")
    assert caught.value.reason == "missing-file" and "reseau.zip" in str(caught.value)


def test_path_traversal_is_refused() -> None:
    members = _members()
    members["../../etc/stops.txt"] = members.pop("stops.txt")
    with pytest.raises(GtfsError) as caught:
        read_gtfs(_zip(members))
    assert caught.value.reason == "zip-slip"


def test_zip_bomb_is_refused_before_inflating() -> None:
    members = _members()
    members["stop_times.txt"] = b"0" * (50 << 20)
    with pytest.raises(GtfsError) as caught:
        read_gtfs(_zip(members))
    assert caught.value.reason == "zip-bomb"


def test_not_a_zip_is_refused() -> None:
    with pytest.raises(GtfsError):
        read_gtfs(b"stop_id,stop_name\n1,a\n")
