"""Demo urban trees (Arbres urbains 0.3.1): the city of Tours' street trees and the metropole's trees
in its parks along the Loire and the Cher.

Quirks: the metropole's SIG export names its coordinate columns ``x_wgs84``/``y_wgs84`` (the registry
maps them), with decimal commas and ``Oui``/``Non``; Tours writes Lambert-93 metres in its
``longitude``/``latitude`` columns. Seeded invalid rows (~3 %): a negative height, a duplicated tree
id, 30 February as a planting date; one tree at 0,0 (outside France) and one pasted from Paris.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pyproj import Transformer

import pipelines.demo.quirks as quirks
from pipelines.demo.places import points_in

DATASET = "arbres"
FIELDS = [
    "id", "longitude", "latitude", "date_releve", "famille", "genre", "espece", "cultivar_variete",
    "nom_vernaculaire", "code_insee", "code_postal", "adresse", "matricule", "date_plantation",
    "stade_developpement", "hauteur", "diametre", "circonference", "diametre_couronne", "type_sol",
    "description_pied_arbre", "type_enracinement", "port_arbre", "remarquable", "protege", "contraintes_sol",
    "contrainte_aeriennes", "eclairage", "arrosage", "allergie", "remarque",
]  # fmt: skip
SPECIES = [
    ("Platanaceae", "Platanus", "x acerifolia", "Platane commun", 3),
    ("Sapindaceae", "Acer", "platanoides", "Érable plane", 3),
    ("Tiliaceae", "Tilia", "cordata", "Tilleul à petites feuilles", 2),
    ("Betulaceae", "Carpinus", "betulus", "Charme commun", 2),
    ("Fagaceae", "Quercus", "robur", "Chêne pédonculé", 1),
    ("Salicaceae", "Populus", "nigra", "Peuplier noir", 1),
    ("Rosaceae", "Prunus", "avium", "Merisier", 1),
]
STREETS = [
    "Boulevard Béranger",
    "Quai de la Loire",
    "Avenue de Grammont",
    "Rue des Tanneurs",
    "Allée du Parc",
]
STAGES = ["Jeune", "Adulte", "Adulte", "Vieux"]
# producer -> (communes, trees per commune, coordinates "lambert93" | "comma", column names of the pair)
STYLES = {
    "tours": (["tours"], 260, "lambert93", ("longitude", "latitude")),
    "metropole": (["saint-cyr-sur-loire", "la-riche", "saint-pierre-des-corps", "saint-avertin"], 35, "comma",
                  ("x_wgs84", "y_wgs84")),
}  # fmt: skip


def generate(inbox: Path, producers: list[dict[str, Any]], *, seed: int = 37) -> list[Path]:
    communes = {p["id"]: p for p in producers if p.get("kind") == "commune"}
    return [write(inbox, p, communes, seed=seed) for p in producers if p["id"] in STYLES]


def write(inbox: Path, producer: dict[str, Any], communes: dict[str, Any], *, seed: int = 37) -> Path:
    rng = quirks.producer_rng(seed, DATASET, producer["id"])
    where, count, coordinates, pair = STYLES[producer["id"]]
    yes, no = ("Oui", "Non") if coordinates == "comma" else ("true", "false")
    rows: list[list[Any]] = []
    for commune_id in where:
        commune = communes[commune_id]
        for lon, lat in points_in(commune["insee"], count, rng):
            family, genus, species, name, _ = rng.choices(SPECIES, [s[4] for s in SPECIES])[0]
            planted = rng.randint(1950, 2022)
            age = 2024 - planted
            girth = round(min(2900, 6 * age + rng.uniform(0, 40)), 1)
            height = round(min(3500, 30 * age + rng.uniform(100, 300)))
            address = f"{rng.randint(1, 120)} {rng.choice(STREETS)}"
            reference, stage = f"{commune['insee']}-{len(rows) + 1:05d}", STAGES[min(3, age // 25)]
            planted_on = f"{planted}-0{rng.randint(1, 3)}-15"
            rows.append([
                len(rows) + 1, lon, lat, "2023-06-12", family, genus, species, "", name, commune["insee"],
                commune.get("postcode", "37000"), address, reference, planted_on, stage,
                height, round(girth / 3.1416, 1), girth, round(min(20, age / 4 + 1), 1), "", "Grille", "", "",
                yes if age > 60 else no, no, "", "", no, "", "", "",
            ])  # fmt: skip
    for k, i in enumerate(sorted(rng.sample(range(len(rows)), max(3, round(len(rows) * 0.03))))):
        if k % 3 == 0:
            rows[i][15] = -rows[i][15]  # a sign slipped in the height
        elif k % 3 == 1:
            rows[i][0] = rows[i - 1][0]  # the same tree id twice
        else:
            rows[i][13] = "2019-02-30"
    rows[-1][1], rows[-1][2] = 0.0, 0.0  # never located: outside France
    if producer["id"] == "tours":
        rows[-2][1], rows[-2][2] = 2.3522, 48.8566  # a Paris tree: outside the territory
    to_l93 = Transformer.from_crs(4326, 2154, always_xy=True)
    for row in rows:
        lon, lat = row[1], row[2]
        if coordinates == "lambert93" and (lon, lat) != (0.0, 0.0):
            x, y = to_l93.transform(lon, lat)
            row[1], row[2] = f"{x:.2f}", f"{y:.2f}"
        elif coordinates == "comma":
            row[1], row[2] = f"{lon:.6f}".replace(".", ","), f"{lat:.6f}".replace(".", ",")
            row[15:19] = [str(v).replace(".", ",") for v in row[15:19]]
        else:
            row[1], row[2] = f"{lon:.6f}", f"{lat:.6f}"
    header = list(FIELDS)
    header[1], header[2] = pair
    path = Path(inbox) / producer["id"] / DATASET / f"arbres-{producer['id']}.csv"
    return quirks.write_csv(path, header, rows, encoding="utf-8", delimiter=";")
