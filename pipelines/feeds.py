"""The demo's operator feeds: real servers on loopback standing in for the operators' own.

One module because it is one fixture: each operator's generated files, the replay routes that serve
them and the environment variables the registry reads are written against the same seed, paths and
route constants (``DAE_FILE``, ``ODS_BASE``, ``CKAN_*``, ``FEED_ROUTES``) that the tests break on
purpose; split, every writer would import the route table back and the fixture would read in pieces.

``pipelines/operators.yaml`` and ``pipelines/datasets.yaml`` declare sources harvested from operators
(plain HTTP, CKAN, GTFS, OpenDataSoft, WFS, SQL). Their servers are not reachable from a demo machine,
so :func:`start_demo_feeds` writes what each operator would publish under ``<home>/feeds/`` and
serves it:

- ``mobilites-touraine``: a GTFS zip — the real Frioul If Express feed of the reference folder,
  standing in for Fil Bleu (its stops are in Marseille, outside the territory: the batch says so,
  which is the mechanism under test); and a WFS 2.0 layer of bike parking, GML 3.2 in Lambert-93
  as a GeoServer would answer, paged by the replay server;
- ``tourisme-tours``: an OpenDataSoft portal (Explore v2.1 metadata and CSV export) of the Loire à
  Vélo bike parking;
- ``eau-metropole``: a SQLite database of drinking-water fountains, read by a SQL query;
- ``chu-tours``: its defibrillator register as a CSV file on a web server (plain HTTP) — the file
  ``pipelines/demo/dae.py`` makes for the hospital, which therefore drops nothing in the inbox;
- ``universite-tours``: a CKAN portal (``package_show`` and the CSV resource it links to) of the
  university's buildings in Tours, as SCDL équipements.

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
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from pyproj import Transformer

from pipelines.demo import dae, equipements, quirks
from pipelines.demo.places import points_in
from pipelines.demo.subventions import attributor_siret
from pipelines.feed_server import (
    CAMPUS_NAME,
    CAPABILITIES_NAME,
    CKAN_CSV,
    CKAN_DATASET,
    CKAN_HOST,
    CKAN_PACKAGE_ID,
    CKAN_RESOURCE_ID,
    CKAN_SHOW,
    CKAN_SHOW_NAME,
    DAE_FILE,
    DAE_NAME,
    DATABASE_NAME,
    FEED_ROUTES,
    FEEDS_URL_VAR,
    GML_NAME,
    GTFS_NAME,
    ODS_BASE,
    ODS_CSV_NAME,
    ODS_DATASET,
    ODS_META_NAME,
    OPERATOR_DB_VAR,
    SEED,
    WFS_TYPE,
    DemoFeeds,
    demo_routes,
    serve_demo_feeds,
)
from resources.harvest.replay_server import Route

__all__ = [
    "CKAN_CSV", "CKAN_SHOW", "DAE_FILE", "FEED_ROUTES", "FEEDS_URL_VAR", "ODS_BASE", "OPERATOR_DB_VAR",
    "WFS_TYPE", "DemoFeeds", "start_demo_feeds", "write_demo_feeds",
]  # fmt: skip

GTFS_REFERENCE = Path(__file__).resolve().parent / "demo" / "data" / "frioul-if-express-marseille-gtfs.zip"

BIKE_FIELDS = [
    "id_local", "id_osm", "code_com", "coordonneesxy", "capacite", "capacite_cargo", "type_accroche",
    "mobilier", "acces", "gratuit", "protection", "couverture", "surveillance", "lumiere", "url_info",
    "d_service", "source", "proprietaire", "gestionnaire", "date_maj", "commentaires",
]  # fmt: skip
# Communes along the Loire à Vélo route, where the Office de tourisme lists bike parking.
LOIRE_COMMUNES = ("37261", "37195", "37214", "37233")
UNIVERSITY = {"id": "universite-tours", "name": "Université de Tours", "siren": "193708005"}
# (site, theme, code, type, number, street, postcode, ERP type, ERP category): the university's sites
# in Tours. The code is the nomenclature's 8 digits, the UID prefixed with the commune's INSEE code.
CAMPUS = [
    ("Site des Tanneurs", "Equipement d'enseignement", "04030101", "Université", "3", "Rue des Tanneurs",
     "37000", "R", "1"),
    ("Bibliothèque universitaire des Tanneurs", "Equipement culturel", "05010102",
     "Bibliothèque universitaire", "5", "Rue des Tanneurs", "37000", "S", "2"),
    ("Site de Grandmont", "Equipement d'enseignement", "04030101", "Université", "", "Avenue Monge", "37200",
     "R", "1"),
    ("Gymnase universitaire de Grandmont", "Equipement sportif et de loisirs", "06010101", "Gymnase", "",
     "Avenue Monge", "37200", "X", "3"),
    ("Site Tonnellé", "Equipement d'enseignement", "04030101", "Université", "10", "Boulevard Tonnellé",
     "37000", "R", "2"),
    ("Site Portalis", "Equipement d'enseignement", "04030101", "Université", "50", "Avenue Jean Portalis",
     "37200", "R", "2"),
    ("Site du Plat d'Étain", "Equipement administratif", "01010501", "Présidence d'université", "60",
     "Rue du Plat d'Étain", "37000", "W", "3"),
    ("Service de santé universitaire", "Equipement sanitaire", "03010101", "Centre de santé", "60",
     "Rue du Plat d'Étain", "37000", "U", "5"),
]  # fmt: skip


@contextmanager
def start_demo_feeds(home: Path, *, seed: int = SEED) -> Iterator[DemoFeeds]:
    """Write the operators' files under ``home/feeds/``, serve them, and set the registry's variables
    for the process until the block ends (their previous values are then put back)."""
    routes, sql_url = write_demo_feeds(Path(home) / "feeds", seed=seed)
    with serve_demo_feeds(home, routes, sql_url) as feeds:
        yield feeds


def write_demo_feeds(
    folder: Path, *, seed: int = SEED, producers: list[dict[str, Any]] | None = None
) -> tuple[dict[str, Route], str]:
    """Every operator's file under ``folder``; returns the HTTP routes serving them and the SQL URL.

    ``producers`` (the registry's, as dicts) place the hospital's devices in their communes; by default
    they are read from the registry."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)

    gtfs = folder / GTFS_NAME
    shutil.copyfile(GTFS_REFERENCE, gtfs)

    capabilities = folder / CAPABILITIES_NAME
    capabilities.write_text(_capabilities(), encoding="utf-8")
    gml = folder / GML_NAME
    gml.write_text(_bike_parking_gml(rng), encoding="utf-8")

    ods_csv = folder / ODS_CSV_NAME
    rows = _loire_bike_parking(rng)
    ods_csv.write_text(_csv(BIKE_FIELDS, rows), encoding="utf-8")
    ods_meta = folder / ODS_META_NAME
    ods_meta.write_text(json.dumps(_ods_metadata(len(rows)), ensure_ascii=False, indent=1), encoding="utf-8")

    database = folder / DATABASE_NAME
    _write_fountains(database, rng)

    # The hospital's file is the one the demo's dae generator makes for it (its own seeded generator:
    # the bytes do not depend on the other feeds).
    producers = producers or _producers()
    communes = {p["id"]: p for p in producers if p.get("kind") == "commune"}
    hospital = next(p for p in producers if p["id"] == "chu-tours")
    dae_csv = dae.write(folder, hospital, communes, seed=seed)

    buildings = folder / CAMPUS_NAME
    _write_campus(buildings, quirks.producer_rng(seed, "equipements", UNIVERSITY["id"]))
    ckan_show = folder / CKAN_SHOW_NAME
    package = _ckan_package(buildings.stat().st_size)
    ckan_show.write_text(json.dumps(package, ensure_ascii=False, indent=2), encoding="utf-8")

    if dae_csv != folder / DAE_NAME:  # the route serves the path pipelines/feed_server.py names
        raise RuntimeError(f"le fichier du CHU est écrit sous {dae_csv}, servi sous {folder / DAE_NAME}")
    return demo_routes(folder)


def _producers() -> list[dict[str, Any]]:
    from resources.registry.load import load_registry

    return [p.model_dump() for p in load_registry().producers]


def _write_campus(path: Path, rng: random.Random) -> None:
    """The university's buildings as SCDL équipements rows, positioned inside Tours."""
    points = points_in("37261", len(CAMPUS), rng)
    siret = attributor_siret(UNIVERSITY)
    rows = []
    for i, (site, theme, code, kind, number, street, postcode, erp, category) in enumerate(CAMPUS):
        lon, lat = points[i]
        rows.append([
            UNIVERSITY["name"], siret, f"37261-{code}-{i + 1:03d}", theme, f"{code}-{i + 1:03d}", kind, site,
            number or "SN", street, postcode, "Tours", "", "", erp, category, f"{lat:.6f}", f"{lon:.6f}",
            "Mo-Fr 08:00-19:00; Sa 08:00-12:00", "+33247366600", "", "https://www.univ-tours.fr/",
        ])  # fmt: skip
    # The portal's export names the theme in the university's words, not the schema's list: quarantined.
    rows[3][3] = "Equipement sportif universitaire"
    quirks.write_csv(path, equipements.FIELDS, rows, encoding="utf-8", delimiter=",")


def _ckan_package(size: int) -> dict[str, Any]:
    """A ``package_show`` answer shaped like CKAN 2.9's (demo.ckan.org's, in the reference folder)."""
    created, modified = "2024-09-02T09:12:41.220114", "2025-02-03T14:05:10.873201"
    organization = {
        "id": "0d6f3c2e-91b4-4a8e-8f57-3c1e2a9d7b40",
        "name": "universite-de-tours",
        "title": "Université de Tours",
        "type": "organization",
        "description": "Établissement public à caractère scientifique, culturel et professionnel.",
        "image_url": "",
        "created": "2019-05-14T10:02:11.000000",
        "is_organization": True,
        "approval_status": "approved",
        "state": "active",
    }
    resources = [
        {
            "mimetype": "text/csv",
            "cache_url": None,
            "hash": "",
            "description": "Export CSV (virgule, UTF-8) au format SCDL Équipements collectifs 0.1.5.",
            "name": f"{CKAN_DATASET}.csv",
            "format": "CSV",
            "url": f"{CKAN_HOST}{CKAN_CSV}",
            "datastore_active": False,
            "cache_last_updated": None,
            "package_id": CKAN_PACKAGE_ID,
            "created": created,
            "state": "active",
            "mimetype_inner": None,
            "last_modified": modified,
            "position": 0,
            "url_type": "upload",
            "id": CKAN_RESOURCE_ID,
            "resource_type": None,
            "size": size,
        },
        {
            "mimetype": "application/pdf",
            "cache_url": None,
            "hash": "",
            "description": "Plan des campus.",
            "name": "Plan des campus",
            "format": "PDF",
            "url": "https://www.univ-tours.fr/medias/fichier/plan-campus.pdf",
            "datastore_active": False,
            "cache_last_updated": None,
            "package_id": CKAN_PACKAGE_ID,
            "created": created,
            "state": "active",
            "mimetype_inner": None,
            "last_modified": None,
            "position": 1,
            "url_type": None,
            "id": "9e4b7d2a-6c15-4f83-a0d9-5b2e8c7f1a64",
            "resource_type": None,
            "size": None,
        },
    ]
    tags = ["équipements", "enseignement supérieur", "campus"]
    return {
        "help": f"{CKAN_HOST}/ckan/api/3/action/help_show?name=package_show",
        "success": True,
        "result": {
            "license_title": "Licence Ouverte / Open Licence version 2.0",
            "maintainer": "Direction du patrimoine immobilier",
            "relationships_as_object": [],
            "private": False,
            "maintainer_email": "patrimoine@univ-tours.fr",
            "num_tags": len(tags),
            "id": CKAN_PACKAGE_ID,
            "metadata_created": created,
            "metadata_modified": modified,
            "author": "Université de Tours",
            "author_email": "opendata@univ-tours.fr",
            "state": "active",
            "version": "",
            "creator_user_id": "4f2a8c6e-1d3b-4e7a-9c5f-8b0d2e6a1c73",
            "type": "dataset",
            "resources": resources,
            "num_resources": len(resources),
            "tags": [
                {"vocabulary_id": None, "state": "active", "display_name": t, "id": f"tag-{i}", "name": t}
                for i, t in enumerate(tags)
            ],
            "groups": [],
            "license_id": "fr-lo",
            "relationships_as_subject": [],
            "organization": organization,
            "name": CKAN_DATASET,
            "isopen": True,
            "url": "https://www.univ-tours.fr/",
            "notes": "Bâtiments et équipements de l'Université de Tours sur ses sites tourangeaux.",
            "owner_org": organization["id"],
            "extras": [],
            "title": "Équipements de l'Université de Tours",
        },
    }


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
