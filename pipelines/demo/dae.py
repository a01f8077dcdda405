"""Demo defibrillators (AtlaSanté DAE 1.0.7) declared by two communes and the university hospital.

Quirks: decimal commas and cp1252 at Joué-lès-Tours, latitude and longitude swapped by the hospital's
asset register, ``oui``/``non`` booleans. Seeded invalid rows (~4 %): a phone number written the
French way (``02 47 ...``, the schema wants ``+33…``), availability days as free text, a duplicated
serial number; Tours has one device pasted from Paris (outside the territory) and one in Madrid
(outside France).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pipelines.demo.quirks as quirks
from pipelines.demo.places import points_in

DATASET = "dae"
FIELDS = [
    "nom", "lat_coor1", "long_coor1", "adr_num", "adr_voie", "com_cp", "com_insee", "com_nom", "acc",
    "acc_lib", "acc_pcsec", "acc_acc", "dae_mobile", "acc_etg", "acc_complt", "photo1", "photo2", "disp_j",
    "disp_h", "disp_complt", "tel1", "tel2", "site_email", "date_instal", "etat", "etat_fonct", "fab_siren",
    "fab_rais", "mnt_siren", "mnt_rais", "modele", "num_serie", "id_euro", "lc_ped", "dtpr_lcped",
    "dtpr_lcad", "dtpr_bat", "freq_mnt", "dispsurv", "dermnt", "expt_siren", "expt_siret", "expt_rais",
    "expt_tel1", "expt_tel2", "expt_email",
]  # fmt: skip
SITES = [
    ("Hôtel de ville", "Intérieur", "heures ouvrables", "lundi|mardi|mercredi|jeudi|vendredi"),
    ("Gymnase", "Intérieur", "heures ouvrables", "7j/7"),
    ("Stade municipal", "Extérieur", "24h/24", "7j/7"),
    ("Médiathèque", "Intérieur", "heures ouvrables", "mardi|mercredi|vendredi|samedi"),
    ("Piscine", "Intérieur", "heures ouvrables", "7j/7"),
    ("Place du marché", "Extérieur", "24h/24", "7j/7"),
    ("Salle des fêtes", "Intérieur", "heures ouvrables", "événements"),
]
MODELS = [
    ("Schiller", "FRED PA-1"),
    ("Zoll", "AED Plus"),
    ("Philips", "HeartStart HS1"),
    ("Cardiac Science", "G5"),
]
# producer -> (encoding, delimiter, coordinates "dot" | "comma" | "swapped", devices, communes)
STYLES = {
    "tours": ("utf-8", ";", "dot", 40, ["tours"]),
    "joue-les-tours": ("cp1252", ";", "comma", 14, ["joue-les-tours"]),
    "chu-tours": ("utf-8", ",", "swapped", 10, ["tours", "chambray-les-tours"]),
}


# Producers that publish their file on their own server rather than dropping it: pipelines/feeds.py
# serves what write() makes for them.
PUBLISHED = {"chu-tours"}


def generate(inbox: Path, producers: list[dict[str, Any]], *, seed: int = 37) -> list[Path]:
    communes = {p["id"]: p for p in producers if p.get("kind") == "commune"}
    return [
        write(inbox, p, communes, seed=seed)
        for p in producers
        if p["id"] in STYLES and p["id"] not in PUBLISHED
    ]


def write(inbox: Path, producer: dict[str, Any], communes: dict[str, Any], *, seed: int = 37) -> Path:
    rng = quirks.producer_rng(seed, DATASET, producer["id"])
    encoding, delimiter, coordinates, devices, where = STYLES[producer["id"]]
    operator_siren = producer.get("siren") or quirks.siren(rng)
    rows: list[list[Any]] = []
    for i in range(devices):
        commune = communes[where[i % len(where)]]
        lon, lat = points_in(commune["insee"], 1, rng)[0]
        site, access, hours, days = rng.choice(SITES)
        maker, model = rng.choice(MODELS)
        town = commune["name"].split(" de ", 1)[-1]
        free = "oui" if access == "Extérieur" else "non"
        phone, operator_phone = (f"+33247{rng.randint(100000, 999999)}" for _ in range(2))
        installed = f"20{rng.randint(12, 22)}-0{rng.randint(1, 9)}-1{rng.randint(0, 9)}"
        serial = f"{maker[:3].upper()}{rng.randint(10**7, 10**8 - 1)}"
        rows.append([
            f"DAE {site} {town}", lat, lon, str(rng.randint(1, 90)), "Rue de la République",
            commune.get("postcode", "37000"), commune["insee"], town, access, free,
            "", "oui", "non", "RDC", "", "", "", days, hours, "", phone, "", "",
            installed, "Actif", "En fonctionnement",
            "", maker, "", "", model, serial, "", "oui", "", "", "",
            "annuelle", "non", f"2023-{rng.randint(1, 12):02d}-0{rng.randint(1, 9)}", operator_siren, "",
            producer["name"], operator_phone, "", f"dae@{producer['id']}.fr",
        ])  # fmt: skip
    for k, i in enumerate(sorted(rng.sample(range(len(rows)), max(2, round(len(rows) * 0.04))))):
        if k % 3 == 0:
            rows[i][20] = "02 47 21 60 00"  # national format: the schema wants +33…
        elif k % 3 == 1:
            rows[i][17] = "du lundi au vendredi"
        else:
            rows[i][31] = rows[i - 1][31]  # serial numbers are unique
    if producer["id"] == "tours":
        rows[-1][1], rows[-1][2] = 48.8566, 2.3522  # a Paris device: outside the territory
        rows[-2][1], rows[-2][2] = 40.4168, -3.7038  # Madrid: outside France
    for row in rows:
        lat, lon = f"{row[1]:.6f}", f"{row[2]:.6f}"
        if coordinates == "swapped":
            lat, lon = lon, lat
        elif coordinates == "comma":
            lat, lon = lat.replace(".", ","), lon.replace(".", ",")
        row[1], row[2] = lat, lon
    path = Path(inbox) / producer["id"] / DATASET / f"defibrillateurs-{producer['id']}.csv"
    return quirks.write_csv(path, FIELDS, rows, encoding=encoding, delimiter=delimiter)
