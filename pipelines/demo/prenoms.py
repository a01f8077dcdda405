"""Demo first names of the children born in the year (SCDL prénoms 1.1.6), from the three communes
with a maternity ward or a large registry office.

Quirks: cp1252 with ``,`` at Saint-Avertin, the counts through a float column (``12.0``) at
Chambray-lès-Tours. Seeded invalid rows (~3 %): a name typed in capitals
(the schema wants ``Gabriel``), a count of 0, a sex code ``G`` outside M/F/I.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pipelines.demo.quirks as quirks

DATASET = "prenoms"
YEAR = 2023
FIELDS = ["COMMUNE_NOM", "COLL_INSEE", "ENFANT_SEXE", "ENFANT_PRENOM", "NOMBRE_OCCURRENCES", "ANNEE"]
GIRLS = [
    "Jade", "Louise", "Ambre", "Alba", "Emma", "Rose", "Alice", "Romy", "Anna", "Lina", "Léna", "Mia",
    "Julia", "Inès", "Chloé", "Léa", "Agathe", "Juliette", "Iris", "Zoé", "Lou", "Adèle", "Éléna", "Nina",
    "Margaux", "Mila", "Victoire", "Céleste", "Anaïs", "Marie-Lou", "Héloïse", "Capucine", "Salomé",
]  # fmt: skip
BOYS = [
    "Gabriel", "Léo", "Raphaël", "Maël", "Louis", "Noah", "Jules", "Arthur", "Adam", "Lucas", "Sacha",
    "Isaac", "Gabin", "Hugo", "Mohamed", "Éden", "Liam", "Naël", "Aaron", "Tiago", "Paul", "Léon",
    "Nathan", "Théo", "Ethan", "Marius", "Timéo", "Jean-Baptiste", "Côme", "Augustin", "Noé", "Malo",
]  # fmt: skip
# producer -> (encoding, delimiter, numbers through a float column, births scale)
STYLES = {
    "tours": ("utf-8", ";", False, 1.0),
    "saint-avertin": ("cp1252", ",", False, 0.25),
    "chambray-les-tours": ("utf-8", ";", True, 0.3),
}


def generate(inbox: Path, producers: list[dict[str, Any]], *, seed: int = 37) -> list[Path]:
    return [write(inbox, p, seed=seed) for p in producers if p["id"] in STYLES]


def write(inbox: Path, producer: dict[str, Any], *, seed: int = 37) -> Path:
    rng = quirks.producer_rng(seed, DATASET, producer["id"])
    encoding, delimiter, floats, scale = STYLES[producer["id"]]
    town = producer["name"].removeprefix("Ville de ").removeprefix("Commune de ")
    rows: list[list[Any]] = []
    for sex, names in (("F", GIRLS), ("M", BOYS)):
        for rank, name in enumerate(names):
            count = max(1, round(rng.uniform(0.6, 1.4) * 40 * scale / (1 + rank * 0.3)))
            rows.append([town, producer["insee"], sex, name, count, YEAR])
    rows.sort(key=lambda r: (-r[4], r[3]))
    for k, i in enumerate(sorted(rng.sample(range(len(rows)), max(2, round(len(rows) * 0.03))))):
        if k % 3 == 0:
            rows[i][3] = rows[i][3].upper()
        elif k % 3 == 1:
            rows[i][4] = 0
        else:
            rows[i][2] = "G"
    if floats:
        rows = [[*r[:4], quirks.float_text(r[4]), r[5]] for r in rows]
    path = Path(inbox) / producer["id"] / DATASET / f"prenoms-{producer['id']}-{YEAR}.csv"
    return quirks.write_csv(path, FIELDS, rows, encoding=encoding, delimiter=delimiter)
