"""The demo's operator feeds served from the files ``territoire demo`` wrote, without generating them.

``pipelines/feeds.py`` writes each operator's files (it imports the demo's generators: pandas, the
schemas, pyproj); serving them needs only their paths and the replay server. ``territoire run`` and
``territoire dev`` serve what is written, so a run with nothing new does not pay for the generators;
the routes and their paths live here, and the writer checks it wrote every one of them.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from resources.harvest.replay_server import ReplayServer, Route, file_route, status_route, wfs_route

FEEDS_URL_VAR = "TERRITOIRE_FEEDS_URL"
OPERATOR_DB_VAR = "TERRITOIRE_OPERATOR_DB_URL"
SEED = 37

ODS_DATASET = "stationnements-velo-loire-a-velo"
WFS_TYPE = "smt:stationnement_velo"
ODS_BASE = f"/ods/api/explore/v2.1/catalog/datasets/{ODS_DATASET}"
DAE_FILE = "/files/chu-tours-dae.csv"
CKAN_DATASET = "equipements-universite-tours"
CKAN_SHOW = f"/ckan/api/3/action/package_show?id={CKAN_DATASET}"
# The university portal's own address, as its package document names it; the route rewrites it to the
# replay server so the harvester follows the resource link unmodified.
CKAN_HOST = "https://data.univ-tours.fr"
CKAN_PACKAGE_ID = "5b0e6c1a-3f7d-4c8e-9a21-7d4f2b9c1e60"
CKAN_RESOURCE_ID = "c3a9e2d4-8b61-4f0a-b7c5-2e9d1f6a4b38"
CKAN_CSV = f"/ckan/dataset/{CKAN_PACKAGE_ID}/resource/{CKAN_RESOURCE_ID}/download/{CKAN_DATASET}.csv"
# (dataset, producer) -> the route paths serving that partition's feed (what take_down() breaks).
FEED_ROUTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("arrets-transport", "mobilites-touraine"): ("/gtfs/mobilites-touraine.zip",),
    ("stationnement-cyclable", "mobilites-touraine"): ("/wfs/mobilites",),
    ("stationnement-cyclable", "tourisme-tours"): (ODS_BASE, f"{ODS_BASE}/exports/csv"),
    ("dae", "chu-tours"): (DAE_FILE,),
    ("equipements", "universite-tours"): (CKAN_SHOW, CKAN_CSV),
}

# The files each route serves, under ``<home>/feeds/``.
GTFS_NAME = "mobilites-touraine-gtfs.zip"
CAPABILITIES_NAME = "mobilites-wfs-capabilities.xml"
GML_NAME = "mobilites-stationnement-velo.gml"
ODS_CSV_NAME = f"{ODS_DATASET}.csv"
ODS_META_NAME = f"{ODS_DATASET}.json"
DATABASE_NAME = "eau-metropole.sqlite"
DAE_NAME = "chu-tours/dae/defibrillateurs-chu-tours.csv"  # where pipelines/demo/dae.py writes it
CAMPUS_NAME = f"{CKAN_DATASET}.csv"
CKAN_SHOW_NAME = "universite-tours-package_show.json"
FILES = (
    GTFS_NAME, CAPABILITIES_NAME, GML_NAME, ODS_CSV_NAME, ODS_META_NAME, DATABASE_NAME, DAE_NAME,
    CAMPUS_NAME, CKAN_SHOW_NAME,
)  # fmt: skip


def written(folder: Path) -> bool:
    """Whether every file the routes serve is under ``folder``."""
    return all((folder / name).is_file() for name in FILES)


def demo_routes(folder: Path) -> tuple[dict[str, Route], str]:
    """The HTTP routes serving the files under ``folder``, and the SQL database's URL."""
    return {
        "/gtfs/mobilites-touraine.zip": file_route(folder / GTFS_NAME, "application/zip"),
        "/wfs/mobilites": wfs_route(folder / CAPABILITIES_NAME, {WFS_TYPE: folder / GML_NAME}),
        ODS_BASE: file_route(folder / ODS_META_NAME, "application/json"),
        f"{ODS_BASE}/exports/csv": file_route(
            folder / ODS_CSV_NAME, "text/csv; charset=utf-8", file_name=ODS_CSV_NAME
        ),
        DAE_FILE: file_route(folder / DAE_NAME, "text/csv; charset=utf-8"),
        CKAN_SHOW: file_route(folder / CKAN_SHOW_NAME, "application/json", rewrite_hosts=[CKAN_HOST]),
        CKAN_CSV: file_route(folder / CAMPUS_NAME, "text/csv"),
    }, f"sqlite:///{(folder / DATABASE_NAME).resolve()}"


@dataclass
class DemoFeeds:
    """Running demo feeds: the server, where the files are, and the variables the registry reads."""

    home: Path
    server: ReplayServer
    sql_url: str
    routes: dict[str, Route] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.server.base_url

    @property
    def environ(self) -> dict[str, str]:
        return {FEEDS_URL_VAR: self.base_url, OPERATOR_DB_VAR: self.sql_url}

    def take_down(self, dataset: str, producer: str) -> None:
        """Make one partition's feed answer 503, as an operator's server in maintenance does."""
        for path in FEED_ROUTES[(dataset, producer)]:
            self.server.routes[path] = status_route(503, "Service temporairement indisponible")

    def restore(self, dataset: str, producer: str) -> None:
        for path in FEED_ROUTES[(dataset, producer)]:
            self.server.routes[path] = self.routes[path]


@contextmanager
def serve_demo_feeds(
    home: Path, routes: dict[str, Route] | None = None, sql_url: str | None = None
) -> Iterator[DemoFeeds]:
    """Serve the feeds (by default the files already under ``home/feeds/``) and set the registry's
    variables for the process until the block ends (their previous values are then put back)."""
    if routes is None or sql_url is None:
        routes, sql_url = demo_routes(Path(home) / "feeds")
    server = ReplayServer(routes).start()
    feeds = DemoFeeds(home=Path(home), server=server, sql_url=sql_url, routes=dict(routes))
    saved = {name: os.environ.get(name) for name in feeds.environ}
    os.environ.update(feeds.environ)
    try:
        yield feeds
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
