"""The demo's operator feeds: real servers on loopback standing in for the operators' own.

``pipelines/operators.yaml`` declares datasets harvested from operators (GTFS, OpenDataSoft, WFS,
SQL). Their servers are not reachable from a demo machine, so :func:`start_demo_feeds` writes what
each operator would publish under ``<home>/feeds/`` and serves it:

- ``mobilites-touraine``: a GTFS zip — the real Frioul If Express feed of the reference folder,
  standing in for Fil Bleu (its stops are in Marseille, outside the territory: the batch says so,
  which is the mechanism under test); and a WFS 2.0 layer of bike parking, GML 3.2 in Lambert-93
  as a GeoServer would answer, paged by the replay server;
- ``tourisme-tours``: an OpenDataSoft portal (Explore v2.1 metadata and CSV export) of the Loire à
  Vélo bike parking;
- ``eau-metropole``: a SQLite database of drinking-water fountains, read by a SQL query.

HTTP feeds go through :class:`resources.harvest.replay_server.ReplayServer` on a free 127.0.0.1 port
(ETag and Last-Modified, 304 answers). The registry names them through ``${TERRITOIRE_FEEDS_URL}``
and ``${TERRITOIRE_OPERATOR_DB_URL}``, which this module sets for the process while the feeds run.
Every file is generated from a fixed seed, so a second run serves the same bytes and makes no batch.

``python -m pipelines.feeds --home var`` serves the feeds until Ctrl-C (for ``dagster dev``).
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from pyproj import Transformer

from pipelines.demo.places import points_in
from resources.harvest.replay_server import ReplayServer, Route, file_route, status_route, wfs_route

FEEDS_URL_VAR = "TERRITOIRE_FEEDS_URL"
OPERATOR_DB_VAR = "TERRITOIRE_OPERATOR_DB_URL"
GTFS_REFERENCE = Path(__file__).resolve().parent / "demo" / "data" / "frioul-if-express-marseille-gtfs.zip"
SEED = 37

ODS_DATASET = "stationnements-velo-loire-a-velo"
WFS_TYPE = "smt:stationnement_velo"
ODS_BASE = f"/ods/api/explore/v2.1/catalog/datasets/{ODS_DATASET}"
# (dataset, producer) -> the route paths serving that partition's feed (what take_down() breaks).
FEED_ROUTES: dict[tuple[str, str], tuple[str, ...]] = {
    ("arrets-transport", "mobilites-touraine"): ("/gtfs/mobilites-touraine.zip",),
    ("stationnement-cyclable", "mobilites-touraine"): ("/wfs/mobilites",),
    ("stationnement-cyclable", "tourisme-tours"): (ODS_BASE, f"{ODS_BASE}/exports/csv"),
}

BIKE_FIELDS = [
    "id_local", "id_osm", "code_com", "coordonneesxy", "capacite", "capacite_cargo", "type_accroche",
    "mobilier", "acces", "gratuit", "protection", "couverture", "surveillance", "lumiere", "url_info",
    "d_service", "source", "proprietaire", "gestionnaire", "date_maj", "commentaires",
]  # fmt: skip
# Communes along the Loire à Vélo route, where the Office de tourisme lists bike parking.
LOIRE_COMMUNES = ("37261", "37195", "37214", "37233")


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
def start_demo_feeds(home: Path, *, seed: int = SEED) -> Iterator[DemoFeeds]:
    """Write the operators' files under ``home/feeds/``, serve them, and set the registry's variables
    for the process until the block ends (their previous values are then put back)."""
    folder = Path(home) / "feeds"
    routes, sql_url = write_demo_feeds(folder, seed=seed)
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


def write_demo_feeds(folder: Path, *, seed: int = SEED) -> tuple[dict[str, Route], str]:
    """Every operator's file under ``folder``; returns the HTTP routes serving them and the SQL URL."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)

    gtfs = folder / "mobilites-touraine-gtfs.zip"
    shutil.copyfile(GTFS_REFERENCE, gtfs)

    capabilities = folder / "mobilites-wfs-capabilities.xml"
    capabilities.write_text(_capabilities(), encoding="utf-8")
    gml = folder / "mobilites-stationnement-velo.gml"
    gml.write_text(_bike_parking_gml(rng), encoding="utf-8")

    ods_csv = folder / f"{ODS_DATASET}.csv"
    rows = _loire_bike_parking(rng)
    ods_csv.write_text(_csv(BIKE_FIELDS, rows), encoding="utf-8")
    ods_meta = folder / f"{ODS_DATASET}.json"
    ods_meta.write_text(json.dumps(_ods_metadata(len(rows)), ensure_ascii=False, indent=1), encoding="utf-8")

    database = folder / "eau-metropole.sqlite"
    _write_fountains(database, rng)

    routes: dict[str, Route] = {
        "/gtfs/mobilites-touraine.zip": file_route(gtfs, "application/zip"),
        "/wfs/mobilites": wfs_route(capabilities, {WFS_TYPE: gml}),
        ODS_BASE: file_route(ods_meta, "application/json"),
        f"{ODS_BASE}/exports/csv": file_route(
            ods_csv, "text/csv; charset=utf-8", file_name=f"{ODS_DATASET}.csv"
        ),
    }
    return routes, f"sqlite:///{database.resolve()}"


def _csv(header: list[str], rows: list[list[str]]) -> str:
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _loire_bike_parking(rng: random.Random) -> list[list[str]]:
    rows = []
    for n, insee in enumerate(LOIRE_COMMUNES):
        for i, (lon, lat) in enumerate(points_in(insee, 3, rng)):
            capacity = rng.choice([4, 6, 8, 10, 12])
            rows.append(
                [
                    f"OT-LAV-{n:02d}{i:02d}", "", insee, f"[{lon},{lat}]", str(capacity), "",
                    rng.choice(["CADRE", "CADRE ET ROUE"]), rng.choice(["ARCEAU", "RATELIER"]), "LIBRE ACCES",
                    "true", "STATIONNEMENT NON FERME", rng.choice(["true", "false"]), "false", "false",
                    "https://www.loireavelo.fr/", "2019", "Office de tourisme Tours Loire Valley",
                    "Tours Métropole Val de Loire", "Office de tourisme Tours Loire Valley", "2025-03-01",
                    "Halte Loire à Vélo",
                ]
            )  # fmt: skip
    # One parking written without its capacity, as a portal export sometimes has: quarantined.
    rows[-1][4] = ""
    return rows


def _ods_metadata(records: int) -> dict:
    return {
        "dataset_id": ODS_DATASET,
        "dataset_uid": "da_tlv0001",
        "has_records": True,
        "metas": {
            "default": {
                "title": "Stationnements vélo de la Loire à Vélo (Tours Loire Valley)",
                "license": "Licence Ouverte v2.0 (Etalab)",
                "modified": "2025-03-01T08:00:00+00:00",
                "data_processed": "2025-03-01T08:00:00+00:00",
                "records_count": records,
                "publisher": "Office de tourisme Tours Loire Valley",
            }
        },
        "fields": [{"name": name, "type": "text"} for name in BIKE_FIELDS],
    }


def _capabilities() -> str:
    return """<?xml version="1.0" encoding="UTF-8"?>
<wfs:WFS_Capabilities version="2.0.0" xmlns:wfs="http://www.opengis.net/wfs/2.0"
    xmlns:ows="http://www.opengis.net/ows/1.1" xmlns:smt="https://data.tours-metropole.fr/smt">
  <ows:ServiceIdentification>
    <ows:Title>Syndicat des Mobilités de Touraine — WFS</ows:Title>
    <ows:ServiceType>WFS</ows:ServiceType>
    <ows:ServiceTypeVersion>2.0.0</ows:ServiceTypeVersion>
  </ows:ServiceIdentification>
  <ows:OperationsMetadata>
    <ows:Operation name="GetFeature">
      <ows:Parameter name="outputFormat">
        <ows:AllowedValues><ows:Value>application/gml+xml; version=3.2</ows:Value></ows:AllowedValues>
      </ows:Parameter>
    </ows:Operation>
  </ows:OperationsMetadata>
  <wfs:FeatureTypeList>
    <wfs:FeatureType>
      <wfs:Name>smt:stationnement_velo</wfs:Name>
      <wfs:Title>Stationnements vélo</wfs:Title>
      <wfs:DefaultCRS>urn:ogc:def:crs:EPSG::2154</wfs:DefaultCRS>
    </wfs:FeatureType>
  </wfs:FeatureTypeList>
</wfs:WFS_Capabilities>
"""


def _bike_parking_gml(rng: random.Random) -> str:
    """A GetFeature answer of GeoServer's shape: GML 3.2 points in Lambert-93, attributes as elements."""
    points = points_in("37261", 8, rng)
    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
    x, y = to_l93.transform(points[:, 0], points[:, 1])
    members = []
    for i, (east, north) in enumerate(zip(x, y, strict=True)):
        attributes = {
            "id_local": f"SMT-V{i + 1:03d}",
            "code_com": "37261",
            "capacite": str(rng.choice([6, 10, 20, 40])),
            "type_accroche": "CADRE ET ROUE",
            "mobilier": rng.choice(["ARCEAU", "RATELIER"]),
            "acces": "LIBRE ACCES" if i % 4 else "ABONNEMENT OU INSCRIPTION PREALABLE",
            "protection": "STATIONNEMENT NON FERME" if i % 4 else "CONSIGNE COLLECTIVE FERMEE",
            "gestionnaire": "Syndicat des Mobilités de Touraine",
            "date_maj": "2025-02-15",
        }
        cells = "".join(f"\n      <smt:{k}>{escape(v)}</smt:{k}>" for k, v in attributes.items())
        members.append(
            f"""  <wfs:member>
    <smt:stationnement_velo gml:id="stationnement_velo.{i + 1}">
      <smt:geom>
        <gml:Point srsDimension="2" srsName="urn:ogc:def:crs:EPSG::2154">
          <gml:pos>{east:.2f} {north:.2f}</gml:pos>
        </gml:Point>
      </smt:geom>{cells}
    </smt:stationnement_velo>
  </wfs:member>
"""
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" '
        'xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:smt="https://data.tours-metropole.fr/smt" '
        f'numberMatched="{len(members)}" numberReturned="{len(members)}">\n'
        + "".join(members)
        + "</wfs:FeatureCollection>\n"
    )


def _write_fountains(path: Path, rng: random.Random) -> None:
    """The water utility's asset table, with its own column names (the registry's query renames them)."""
    path.unlink(missing_ok=True)
    rows = []
    streets = ["rue Nationale", "place Plumereau", "quai Paul Bert"]
    for insee in ("37261", "37122", "37214", "37233"):
        for i, (lon, lat) in enumerate(points_in(insee, 3, rng)):
            rows.append(
                (
                    f"EAU-{insee}-{i + 1:02d}",
                    rng.choice(["borne fontaine", "robinet", "fontaine type Wallace"]),
                    rng.choice(["Bayard BF", "Fontaine Wallace", "Robinet poussoir"]),
                    f"{rng.randint(1, 80)} {rng.choice(streets)}",
                    insee,
                    float(lat),
                    float(lon),
                    rng.choice(["aucune", "établissement soumis à horaires"]),
                    f"20{rng.randint(10, 24)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}",
                    rng.randint(0, 1),
                    1,
                )
            )
    # One fountain typed with the utility's own word, not the schema's list: quarantined.
    rows[4] = (rows[4][0], "fontaine à boire", *rows[4][2:])
    with sqlite3.connect(path) as db:
        db.execute(
            "CREATE TABLE fontaine (code TEXT PRIMARY KEY, categorie TEXT, modele TEXT, adresse TEXT, "
            "insee TEXT, lat REAL, lon REAL, acces TEXT, pose TEXT, pmr INTEGER, remplissage INTEGER)"
        )
        db.executemany("INSERT INTO fontaine VALUES (?,?,?,?,?,?,?,?,?,?,?)", rows)
    # sqlite3's context manager commits but does not close.
    db.close()


def main() -> None:  # pragma: no cover - console entry point
    import argparse

    parser = argparse.ArgumentParser(description="Serve the demo operators' feeds on 127.0.0.1.")
    parser.add_argument("--home", type=Path, default=Path(os.environ.get("TERRITOIRE_HOME", "var")))
    args = parser.parse_args()
    with start_demo_feeds(args.home.resolve()) as feeds:
        for name, value in feeds.environ.items():
            print(f"export {name}={value}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":  # pragma: no cover
    main()
