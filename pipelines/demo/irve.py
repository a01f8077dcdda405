"""Demo electric vehicle charging points (Etalab IRVE statique 2.3.0): the metropole's public network
and the transport authority's park-and-ride chargers.

One row per charging point (``pdc``), grouped in stations as the schema wants. Quirks: Syndicat des
Mobilités de Touraine exports its positions in Lambert-93 metres inside the ``[x, y]`` array and
writes ``VRAI``/``FAUX``. Seeded invalid rows (~3 %): a lower-case point id, an implantation outside
the list, a missing operator contact; one station at 0,0 (outside France).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyproj import Transformer

import pipelines.demo.quirks as quirks
from pipelines.demo.places import points_in

DATASET = "irve"
FIELDS = [
    "nom_amenageur", "siren_amenageur", "contact_amenageur", "nom_operateur", "contact_operateur",
    "telephone_operateur", "nom_enseigne", "id_station_itinerance", "id_station_local", "nom_station",
    "implantation_station", "adresse_station", "code_insee_commune", "coordonneesXY", "nbre_pdc",
    "id_pdc_itinerance", "id_pdc_local", "puissance_nominale", "prise_type_ef", "prise_type_2",
    "prise_type_combo_ccs", "prise_type_chademo", "prise_type_autre", "gratuit", "paiement_acte",
    "paiement_cb", "paiement_autre", "tarification", "condition_acces", "reservation", "horaires",
    "accessibilite_pmr", "restriction_gabarit", "station_deux_roues", "raccordement", "num_pdl",
    "date_mise_en_service", "observations", "date_maj", "cable_t2_attache",
]  # fmt: skip
# producer -> (operator id prefix, stations, communes where they stand)
STYLES = {
    "metropole": (
        "FRTMV",
        14,
        ["tours", "joue-les-tours", "saint-cyr-sur-loire", "saint-avertin", "fondettes"],
    ),
    "mobilites-touraine": (
        "FRSMT",
        5,
        ["tours", "joue-les-tours", "saint-pierre-des-corps", "chambray-les-tours"],
    ),
}
STREETS = [
    "Place de la Mairie",
    "Parking du Centre",
    "Avenue de la République",
    "Parking Relais",
    "Rue de la Gare",
]


def generate(inbox: Path, producers: list[dict[str, Any]], *, seed: int = 37) -> list[Path]:
    communes = {p["id"]: p for p in producers if p.get("kind") == "commune"}
    return [write(inbox, p, communes, seed=seed) for p in producers if p["id"] in STYLES]


def write(inbox: Path, producer: dict[str, Any], communes: dict[str, Any], *, seed: int = 37) -> Path:
    rng = quirks.producer_rng(seed, DATASET, producer["id"])
    prefix, stations, where = STYLES[producer["id"]]
    lambert = producer["id"] == "mobilites-touraine"
    yes, no = ("VRAI", "FAUX") if lambert else ("true", "false")
    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
    siren = producer.get("siren") or "200085108"
    rows: list[list[Any]] = []
    for s in range(stations):
        commune = communes[where[s % len(where)]]
        ((lon, lat),) = points_in(commune["insee"], 1, rng)
        if producer["id"] == "metropole" and s == stations - 1:
            lon, lat = 0.0, 0.0  # a station whose position was never filled in: outside France
        if lambert and (lon, lat) != (0.0, 0.0):
            x, y = to_l93.transform(lon, lat)
            xy = f"[{x:.2f},{y:.2f}]"
        else:
            xy = f"[{lon:.8f},{lat:.8f}]"
        points, power = rng.choice([(2, 22), (4, 22), (2, 50), (6, 7.4)])
        station = f"{prefix}P{s + 1:04d}"
        street = rng.choice(STREETS)
        town = commune["name"].split(" de ", 1)[-1]
        opened = f"20{rng.randint(19, 23)}-0{rng.randint(1, 9)}-15"
        for p in range(points):
            fast = power >= 50
            rows.append([
                producer["name"], siren, f"mobilite@{producer['id']}.fr", "Freshmile",
                "support@freshmile.com", "+33389620000", "Réseau Tours Métropole Recharge", station,
                "", f"{street} - {town}",
                "Parking public" if "Parking" in street else "Voirie",
                f"{rng.randint(1, 60)} {street} {commune.get('postcode', '37000')} {town}",
                commune["insee"], xy, points, f"{prefix}E{s + 1:04d}{p + 1}", "", power,
                no, yes if not fast else no, yes if fast else no, no, no, no, yes, yes, no,
                "0,30 € / kWh", "Accès libre", no, "24/7", "Accessible mais non réservé PMR",
                "Hauteur maximale 2,10 m", no, "Direct", "", opened,
                "", "2024-02-01", yes if not fast else "",
            ])  # fmt: skip
    for k, i in enumerate(sorted(rng.sample(range(len(rows)), max(2, round(len(rows) * 0.04))))):
        if k % 3 == 0:
            rows[i][15] = rows[i][15].lower()  # itinerance ids are upper case
        elif k % 3 == 1:
            rows[i][10] = "Parking"  # not an implantation of the schema
        else:
            rows[i][4] = ""  # operator contact is required
    path = Path(inbox) / producer["id"] / DATASET / f"irve-{producer['id']}.csv"
    return quirks.write_csv(path, FIELDS, rows, encoding="utf-8", delimiter=";" if lambert else ",")
