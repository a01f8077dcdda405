"""Demo bicycle parking (Etalab stationnement cyclable 1.1.2): the metropole's inventory and the
city of Tours' own racks.

Quirks: ``[lon, lat]`` arrays as the national schema wants them from the metropole, but Tours writes
``lat, lon`` (swapped, without brackets) and ``oui``/``non`` booleans. Seeded invalid rows (~3 %): a
fastening type outside the list, a missing capacity, a duplicated ``id_local``; one rack pasted from
Paris (outside the territory) and one at 0,0 (outside France).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pipelines.demo.quirks as quirks
from pipelines.demo.places import points_in

DATASET = "stationnement-cyclable"
FIELDS = [
    "id_local", "id_osm", "code_com", "coordonneesxy", "capacite", "capacite_cargo", "type_accroche",
    "mobilier", "acces", "gratuit", "protection", "couverture", "surveillance", "lumiere", "url_info",
    "d_service", "source", "proprietaire", "gestionnaire", "date_maj", "commentaires",
]  # fmt: skip
# (mobilier, type_accroche, protection, capacity range, weight)
KINDS = [
    ("ARCEAU", "CADRE ET ROUE", "STATIONNEMENT NON FERME", (2, 12), 8),
    ("RATELIER", "ROUE", "STATIONNEMENT NON FERME", (5, 20), 2),
    ("ARCEAU", "CADRE ET ROUE", "CONSIGNE COLLECTIVE FERMEE", (20, 80), 1),
    ("ARCEAU VELO GRANDE TAILLE", "CADRE", "STATIONNEMENT NON FERME", (2, 6), 1),
]
# producer -> (communes covered, racks per commune scale, coordinates written "array" | "latlon")
STYLES = {"metropole": ("all", 0.6, "array"), "tours": ("own", 1.0, "latlon")}


def generate(inbox: Path, producers: list[dict[str, Any]], *, seed: int = 37) -> list[Path]:
    communes = [p for p in producers if p.get("kind") == "commune"]
    return [write(inbox, p, communes, seed=seed) for p in producers if p["id"] in STYLES]


def write(inbox: Path, producer: dict[str, Any], communes: list[dict[str, Any]], *, seed: int = 37) -> Path:
    rng = quirks.producer_rng(seed, DATASET, producer["id"])
    covered, scale, coordinates = STYLES[producer["id"]]
    where = [c for c in communes if c["id"] != "tours"] if covered == "all" else [producer]
    boolean = ("oui", "non") if coordinates == "latlon" else ("true", "false")
    rows: list[list[Any]] = []
    for commune in where:
        count = max(2, round(int(commune.get("population") or 1000) / 1500 * scale))
        for lon, lat in points_in(commune["insee"], count, rng):
            mobilier, accroche, protection, (low, high), _ = rng.choices(KINDS, [k[4] for k in KINDS])[0]
            closed = protection != "STATIONNEMENT NON FERME"
            rows.append([
                f"{producer['id'][:4].upper()}-{len(rows) + 1:05d}", "", commune["insee"], (lon, lat),
                rng.randint(low, high), rng.choice(["", "", 1, 2]), accroche, mobilier,
                "ABONNEMENT OU INSCRIPTION PREALABLE" if closed else "LIBRE ACCES",
                boolean[1] if closed else boolean[0], protection, boolean[0] if closed else boolean[1],
                boolean[1], boolean[0] if closed else rng.choice(boolean), "", rng.randint(2005, 2023),
                producer["name"], commune["name"], producer["name"], "2024-03-15", "",
            ])  # fmt: skip
    for k, i in enumerate(sorted(rng.sample(range(len(rows)), max(3, round(len(rows) * 0.03))))):
        if k % 3 == 0:
            rows[i][6] = "ANTIVOL"  # not a fastening type of the schema
        elif k % 3 == 1:
            rows[i][4] = ""  # capacity is required
        else:
            rows[i][0] = rows[i - 1][0]  # the same id twice
    if producer["id"] == "metropole":
        rows[-1][3] = (2.3522, 48.8566)  # a Paris rack: outside the territory
        rows[-2][3] = (0.0, 0.0)  # GPS default: outside France
    for row in rows:
        lon, lat = row[3]
        row[3] = f"[{lon:.6f}, {lat:.6f}]" if coordinates == "array" else f"{lat:.6f}, {lon:.6f}"
    path = Path(inbox) / producer["id"] / DATASET / f"stationnement-velo-{producer['id']}.csv"
    return quirks.write_csv(
        path, FIELDS, rows, encoding="utf-8", delimiter="," if coordinates == "array" else ";"
    )
