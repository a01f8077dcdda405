"""Demo public facilities (SCDL équipements collectifs) from the larger communes and the metropole.

Quirks: decimal commas in coordinates (cp1252 export), Lambert-93 metres typed into the EQUIP_LONG /
EQUIP_LAT columns, one commune with latitude and longitude swapped, and a couple of points outside
the territory (a copy-paste from another town) or outside France (a 0,0 default from a GPS app).
Invalid rows are seeded as for subventions: bad theme, UID not matching the pattern, missing name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pipelines.demo.quirks as quirks
from pipelines.demo.places import points_in
from pipelines.demo.subventions import attributor_siret

DATASET = "equipements"
FIELDS = [
    "COLL_NOM", "COLL_SIRET", "EQUIP_UID", "EQUIP_THEME", "EQUIP_CODE", "EQUIP_TYPE", "EQUIP_NOM",
    "ADR_NUMERO", "ADR_NOMVOIE", "ADR_CODEPOSTAL", "ADR_COMMUNE", "ADR_CLE_INTEROP", "ERP_ID", "ERP_TYPE",
    "ERP_CATEGORIE", "EQUIP_LAT", "EQUIP_LONG", "EQUIP_OUVERTURE", "EQUIP_TEL", "EQUIP_EMAIL", "EQUIP_WEB",
]  # fmt: skip
# (theme, code prefix, type, ERP type, weight)
KINDS = [
    ("Equipement administratif", "01010401", "Mairie annexe", "W", 1),
    ("Equipement sportif et de loisirs", "06010101", "Gymnase", "X", 4),
    ("Equipement sportif et de loisirs", "06010301", "Terrain de football", "PA", 3),
    ("Equipement d'enseignement", "04010101", "École maternelle", "R", 3),
    ("Equipement d'enseignement", "04010201", "École élémentaire", "R", 3),
    ("Equipement culturel", "05010101", "Bibliothèque", "S", 1),
    ("Equipement social et d'animation", "02010301", "Maison de quartier", "L", 2),
    ("Equipement sanitaire", "03010101", "Centre de santé", "U", 1),
]
STREETS = [
    "Rue Nationale", "Avenue de Grammont", "Rue de la Mairie", "Rue du Commerce", "Allée des Tilleuls",
    "Rue Victor Hugo", "Boulevard Jean Jaurès", "Rue de la Loire", "Chemin des Vignes", "Rue Pasteur",
]  # fmt: skip
# commune -> (encoding, delimiter, coordinates): "dot" | "comma" (decimal comma) | "lambert93" | "swapped"
STYLES = {
    "tours": ("utf-8", ";", "dot"),
    "joue-les-tours": ("cp1252", ";", "comma"),
    "saint-cyr-sur-loire": ("utf-8", ";", "lambert93"),
    "saint-pierre-des-corps": ("utf-8-sig", ";", "swapped"),
    "saint-avertin": ("cp1252", ";", "comma"),
    "metropole": ("utf-8", ",", "dot"),
}


def generate(inbox: Path, producers: list[dict[str, Any]], *, seed: int = 37) -> list[Path]:
    communes = {p["id"]: p for p in producers if p.get("kind") == "commune"}
    paths = []
    for producer in producers:
        if producer["id"] in STYLES and (producer["id"] in communes or producer.get("kind") == "metropole"):
            paths.append(write(inbox, producer, list(communes.values()), seed=seed))
    return paths


def write(inbox: Path, producer: dict[str, Any], communes: list[dict[str, Any]], *, seed: int = 37) -> Path:
    rng = quirks.producer_rng(seed, DATASET, producer["id"])
    encoding, delimiter, coordinates = STYLES[producer["id"]]
    # the metropole's facilities (pools, waste centres) are spread over its communes
    where = communes if producer.get("kind") == "metropole" else [producer]
    rows = []
    for commune in where:
        count = 3 if producer.get("kind") == "metropole" else max(6, int(commune["population"]) // 800)
        points = points_in(commune["insee"], count, rng)
        for i, (lon, lat) in enumerate(points):
            theme, code, kind, erp, _ = rng.choices(KINDS, [k[4] for k in KINDS])[0]
            number, street = str(rng.randint(1, 180)), rng.choice(STREETS)
            name = f"{kind} {street.split(' ', 1)[1]}"
            rows.append([
                producer["name"], attributor_siret(producer), f"{commune['insee']}-{code}-{i + 1:03d}", theme,
                f"{code}-{i + 1:03d}", kind, name, number, street, commune.get("postcode", "37000"),
                commune["name"].split(" de ", 1)[-1], "", "", erp, str(rng.randint(3, 5)), lat, lon,
                "Mo-Fr 08:30-12:00,13:30-17:30", "", "", "",
            ])  # fmt: skip
    n_bad = max(1, round(len(rows) * 0.03))
    for k, i in enumerate(sorted(rng.sample(range(len(rows)), n_bad))):
        defect = k % 3
        if defect == 0:
            rows[i][3] = "Equipement sportif"  # not in the theme list
        elif defect == 1:
            rows[i][2] = rows[i][2].replace("-", "")  # UID without its dashes
        else:
            rows[i][6] = ""  # no name
    if producer["id"] == "tours":
        rows[-1][15], rows[-1][16] = 48.8566, 2.3522  # pasted from a Paris facility: outside the territory
        rows[-2][15], rows[-2][16] = 0.0, 0.0  # a GPS default: outside France
    for row in rows:
        row[15], row[16] = _coordinates(row[15], row[16], coordinates)
    path = Path(inbox) / producer["id"] / DATASET / f"equipements-{producer['id']}.csv"
    return quirks.write_csv(path, FIELDS, rows, encoding=encoding, delimiter=delimiter)


def _coordinates(lat: float, lon: float, style: str) -> tuple[str, str]:
    if style == "lambert93" and (lat, lon) != (0.0, 0.0):
        from pyproj import Transformer

        x, y = Transformer.from_crs(4326, 2154, always_xy=True).transform(lon, lat)
        return f"{y:.2f}", f"{x:.2f}"  # metres in the degree columns: Y under LAT, X under LONG
    if style == "swapped":
        lat, lon = lon, lat
    text = f"{lat:.6f}", f"{lon:.6f}"
    return (text[0].replace(".", ","), text[1].replace(".", ",")) if style == "comma" else text
