"""The recorded producer portals the replay server answers for: CKAN, DKAN, OpenDataSoft, WFS, GTFS.

``python -m resources.harvest.replay_reference --port 8765`` serves :func:`reference_routes` for the demo.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

from resources.harvest.replay_server import ReplayServer, Reply, Route, file_route, wfs_route


def reference_routes(reference: Path) -> dict[str, Route]:
    """Routes replaying the reference responses, one producer portal per path prefix.

    - ``/ckan``: CKAN Action API (demo.ckan.org) and a French DKAN (``/dkan``), resource links rewritten
      to this server; CSV resources are served from real files of the reference folder (the DKAN
      spreadsheet is not kept in the reference, so its link answers 404 unless a route is added).
    - ``/ods``: OpenDataSoft Explore v2.1 (dataset metadata and exports).
    - ``/wfs``: a WFS 2.0 endpoint paging GeoBretagne's recorded GetFeature responses.
    - ``/gtfs/frioul.zip``: a real GTFS feed.
    """
    ckan = reference / "ckan-api"
    ods = reference / "opendatasoft-api"
    wfs = reference / "wfs"
    subventions = reference / "real-world-subventions"
    csv_file = subventions / "DEP_Nievre_CD58_SUBVENTIONS_2016_LISTE.csv"
    ods_base = "/ods/api/explore/v2.1/catalog/datasets"
    return {
        # CKAN: package_show by name and by id, as CKAN accepts both.
        "/ckan/api/3/action/package_show?id=100-validated-species-of-plants": file_route(
            ckan / "demo.ckan.org-package_show.json",
            "application/json",
            rewrite_hosts=["https://demo.ckan.org"],
        ),
        "/ckan/api/3/action/package_show?id=62513382-3b26-4bc8-9096-40b6ce8383c0": file_route(
            ckan / "demo.ckan.org-package_show.json",
            "application/json",
            rewrite_hosts=["https://demo.ckan.org"],
        ),
        "/ckan/api/3/action/package_show?id=17be64bb-da74-4195-9bb8-565c39846af2": file_route(
            ckan / "demo.ckan.org-package_show-with-organization.json",
            "application/json",
            rewrite_hosts=["https://demo.ckan.org"],
        ),
        "/ckan/api/3/action/package_show": lambda request: Reply(
            404,
            json.dumps(
                {"success": False, "error": {"message": "Not found", "__type": "Not Found Error"}}
            ).encode(),
            {"Content-Type": "application/json"},
        ),
        "/dataset/62513382-3b26-4bc8-9096-40b6ce8383c0/resource/bf4d5116-634e-43f2-a41c-9ae22d362083"
        "/download/validated_100_species.csv": file_route(csv_file, "text/csv"),
        "/dataset/17be64bb-da74-4195-9bb8-565c39846af2/resource/a5cd573b-5565-48f1-9b2d-8726004cb020"
        "/download/20161231_rase.csv": file_route(
            subventions / "DEP_Somme_TB_20180302_DONNEES_CONVENTIONS.csv", "text/csv"
        ),
        "/dkan/api/3/action/package_show": file_route(
            ckan / "dkan-hautsdefrance-package_show.json",
            "application/json",
            rewrite_hosts=["https://geocatalogue.hautsdefrance.fr", "https://sig.hautsdefrance.fr"],
        ),
        # OpenDataSoft Explore API v2.1 (a v2.0-shaped document behind the second id).
        f"{ods_base}/geonames-all-cities-with-a-population-1000": file_route(
            ods / "v2.1" / "example-dataset-v2.1.json", "application/json"
        ),
        f"{ods_base}/geonames-all-cities-with-a-population-1000/exports/geojson": file_route(
            ods / "exports" / "festivals-du-finistere.geojson", "application/geo+json"
        ),
        f"{ods_base}/geonames-all-cities-with-a-population-1000/exports/csv": file_route(
            csv_file, "text/csv; charset=utf-8", file_name="geonames-all-cities-with-a-population-1000.csv"
        ),
        f"{ods_base}/fichier-fantoir-des-voies-et-lieux-dits": file_route(
            ods / "v2.0-data.economie.gouv.fr" / "catalog_dataset_fantoir.json", "application/json"
        ),
        f"{ods_base}/fichier-fantoir-des-voies-et-lieux-dits/exports/csv": file_route(csv_file, "text/csv"),
        # WFS 2.0, GML only, as GeoBretagne answered in 2015.
        "/wfs": wfs_route(
            wfs / "owslib-cuzk-wfs200-getcapabilities.xml",
            {
                "gp-urba:PRESCRIPTION_SURF": wfs / "geobretagne-wfs200-getfeature-PRESCRIPTION_SURF.gml",
                "gp-urba:INFO_PCT": wfs / "geobretagne-wfs200-getfeature-INFO_PCT.gml",
            },
        ),
        # WFS 2.0 on GeoServer, which offers GeoJSON.
        "/geoserver/wfs": wfs_route(
            wfs / "owslib-dov-geoserver-wfs200-getcapabilities.xml",
            {"gw_meetnetten:meetnetten": ods / "exports" / "festivals-du-finistere.geojson"},
        ),
        "/gtfs/frioul.zip": file_route(
            reference / "gtfs" / "frioul-if-express-marseille-gtfs.zip", "application/zip"
        ),
    }


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="Replay the reference producer feeds over HTTP on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--reference", type=Path, default=Path(__file__).resolve().parents[3] / "shared/reference"
    )
    args = parser.parse_args()
    server = ReplayServer(reference_routes(args.reference), port=args.port).start()
    print(f"replaying {args.reference} on {server.base_url} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
