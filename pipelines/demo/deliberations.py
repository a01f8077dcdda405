"""Demo council deliberations (SCDL délibérations 2.1.5) from three councils.

Quirks: French dates and cp1252 at Joué-lès-Tours, a title line and lower-case headers at Fondettes,
empty vote columns for deliberations adopted by show of hands. Seeded invalid rows (~3 %): votes that
do not add up, a matter code typed ``7-1``, a matter name without the ``Matière/Sous-matière`` slash,
a prefecture receipt dated before the vote.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pipelines.demo.quirks as quirks
from pipelines.demo.subventions import attributor_siret

DATASET = "deliberations"
YEAR = 2023
FIELDS = [
    "COLL_NOM", "COLL_SIRET", "DELIB_ID", "DELIB_DATE", "DELIB_MATIERE_CODE", "DELIB_MATIERE_NOM",
    "DELIB_OBJET", "BUDGET_ANNEE", "BUDGET_NOM", "PREF_ID", "PREF_DATE", "VOTE_EFFECTIF", "VOTE_REEL",
    "VOTE_POUR", "VOTE_CONTRE", "VOTE_ABSTENTION", "DELIB_URL",
]  # fmt: skip
# Actes nomenclature (code, "Matière/Sous-matière", objects an agent writes)
MATTERS = [
    (
        "1.1",
        "Commande publique/Marchés publics",
        ["Attribution du marché de {x}", "Avenant au marché de {x}"],
    ),
    ("2.1", "Urbanisme/Documents d'urbanisme", ["Modification simplifiée du PLU : {x}"]),
    ("3.1", "Domaine et patrimoine/Acquisitions", ["Acquisition d'une parcelle pour {x}"]),
    ("3.2", "Domaine et patrimoine/Aliénations", ["Cession d'un terrain communal : {x}"]),
    (
        "4.1",
        "Fonction publique/Personnels titulaires et stagiaires",
        ["Modification du tableau des effectifs"],
    ),
    ("5.2", "Institutions et vie politique/Fonctionnement des assemblées", ["Désignation au conseil de {x}"]),
    (
        "7.1",
        "Finances locales/Décisions budgétaires",
        ["Décision modificative n° {n}", "Budget supplémentaire {y}"],
    ),
    ("7.5", "Finances locales/Subventions", ["Attribution de subventions aux associations : {x}"]),
    ("8.1", "Domaines de compétences par thèmes/Enseignement", ["Participation aux frais de {x}"]),
    ("8.9", "Domaines de compétences par thèmes/Culture", ["Convention de partenariat : {x}"]),
]
SUBJECTS = [
    "restauration scolaire", "entretien des espaces verts", "la salle des fêtes", "l'école Jules Ferry",
    "la médiathèque", "la saison culturelle", "le gymnase municipal", "la voirie communale",
    "l'éclairage public", "le centre de loisirs",
]  # fmt: skip
# producer -> (encoding, delimiter, dates, lower-case headers and a title line, council size, sessions)
STYLES = {
    "tours": ("utf-8", ";", "iso", False, 55, 10),
    "joue-les-tours": ("cp1252", ";", "fr", False, 39, 8),
    "fondettes": ("utf-8-sig", ",", "iso", True, 29, 7),
}


def generate(inbox: Path, producers: list[dict[str, Any]], *, seed: int = 37) -> list[Path]:
    return [write(inbox, p, seed=seed) for p in producers if p["id"] in STYLES]


def write(inbox: Path, producer: dict[str, Any], *, seed: int = 37) -> Path:
    rng = quirks.producer_rng(seed, DATASET, producer["id"])
    encoding, delimiter, dates, lower, council, sessions = STYLES[producer["id"]]
    siret = attributor_siret(producer)
    rows: list[list[Any]] = []
    for s in range(sessions):
        day = dt.date(YEAR, 1 + s * 12 // sessions, rng.randint(5, 26))
        for _ in range(rng.randint(8, 16)):
            code, matter, objects = rng.choice(MATTERS)
            number = len(rows) + 1
            ident = f"DEL{YEAR}_{number:03d}"
            objet = rng.choice(objects).format(x=rng.choice(SUBJECTS), n=s + 1, y=YEAR)
            budget = (str(YEAR), "Budget principal") if code == "7.1" else ("", "")
            received = day + dt.timedelta(days=rng.randint(1, 9))
            votes = ["", "", "", "", ""]
            if rng.random() < 0.8:  # the others were adopted by show of hands, no count recorded
                present = council - rng.randint(0, 6)
                against = rng.choice([0, 0, 0, rng.randint(1, 8)])
                abstained = rng.choice([0, 0, rng.randint(1, 4)])
                votes = [council, present, present - against - abstained, against, abstained]
            rows.append([
                producer["name"], siret, ident, day.isoformat(), code, matter, objet, *budget,
                f"037-{siret[:9]}-{day:%Y%m%d}-{ident}-DE", received.isoformat(), *votes,
                f"https://www.{producer['id']}.fr/deliberations/{YEAR}/{ident}.pdf",
            ])  # fmt: skip
    n_bad = max(2, round(len(rows) * 0.03))
    for k, i in enumerate(sorted(rng.sample(range(len(rows)), n_bad))):
        row = rows[i]
        defect = k % 4
        if defect == 0 and row[11] != "":
            row[13] = int(row[13]) + 3  # more votes for than voters
        elif defect == 1:
            row[4] = row[4].replace(".", "-")  # 7-1 for 7.1
        elif defect == 2:
            row[5] = row[5].split("/")[0]  # matter without its sub-matter
        else:
            row[10] = (
                dt.date.fromisoformat(row[3]) - dt.timedelta(days=3)
            ).isoformat()  # receipt before vote
    for row in rows:
        row[3], row[10] = quirks.date_text(row[3], dates), quirks.date_text(row[10], dates)
    header = [f.lower() for f in FIELDS] if lower else FIELDS
    title = [f"Conseil municipal - délibérations {YEAR}", ""] if lower else []
    path = Path(inbox) / producer["id"] / DATASET / f"deliberations-{producer['id']}-{YEAR}.csv"
    return quirks.write_csv(path, header, rows, encoding=encoding, delimiter=delimiter, title_lines=title)
