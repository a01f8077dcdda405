"""Demo subventions extracts (SCDL subventions 2.1.1), one per commune, each written the way a real
commune's agent would export it.

The quirks are those of the real 2017-2018 files in ``../shared/reference/real-world-subventions/``:
cp1252 with ``;`` (Somme, Lot), UTF-8 with BOM (Somme), ``40 000,00`` amounts (Lot, Somme), no-break
space thousands with ``,`` as separator (Nièvre), SIRET and amounts through a float column
(``21860194600000.0``, ``10000.0``: Poitiers), SCDL v1 ``COLL_*``/``ATTRIB_*``/``SUB_*`` headers
(Nièvre, Poitiers), ``2018-01-01_2018-03-31`` periods and trailing ``;;;;`` lines (Lot),
``2017/09/08`` dates (Somme), ``NON``/``Non`` booleans and capitalised enums (Haute-Garonne) — plus
what agents do in spreadsheets: title lines above the header, a TOTAL line, XLSX with real numbers
and dates, an empty first sheet.

About 2-5 % of rows are genuinely invalid (bad SIRET checksum, missing beneficiary, negative or text
amount, percentage above 1, nature outside the list, 31/02/2020): the platform must quarantine exactly
those, with a message, and keep the rest.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

import pipelines.demo.quirks as quirks
from pipelines.demo.subvention_styles import (
    FIELDS,
    YEAR,
    Style,
    date_cell,
    header_cells,
    identifier_cell,
    number_cell,
    period_cell,
    style_for,
)
from pipelines.demo.subvention_words import (
    AMOUNTS,
    CULTURE,
    FESTIVALS,
    OBJETS,
    PLACES,
    SCHOOLS,
    SOCIAL,
    SPORTS,
    TOURS_QUARTIERS,
)

DATASET = "subventions"


# What a seeded invalid row breaks, and how (each is one rule of the schema). A negative amount is not
# among them: 2.1.1 sets no minimum on montant, so it is a question for the producer, not an error.
DEFECTS = [
    "siret-luhn",  # idBeneficiaire: french-siret-value
    "nom-manquant",  # nomBeneficiaire: required
    "montant-texte",  # montant: type ("à définir")
    "pourcentage-sup-1",  # pourcentageSubvention: maximum
    "nature-hors-liste",  # nature: enum
    "date-impossible",  # dateConvention: type (31/02/2020)
]


@dataclass
class Beneficiary:
    name: str
    kind: str
    siret: str  # "" when the association only has an RNA number
    rna: str


@dataclass
class Extract:
    """One commune's subventions before formatting: canonical values (ISO dates, digits, floats) and,
    per row, the defect seeded into it ("" for a valid row)."""

    producer: dict[str, Any]
    style: Style
    frame: pd.DataFrame  # FIELDS, canonical text or numbers
    defects: pd.Series  # same index: "" or one of DEFECTS


def row_count(population: int) -> int:
    """About one convention per 60 inhabitants (Tours ≈ 2,300), at least three."""
    return max(3, round(population / 60))


def commune_label(producer: dict[str, Any]) -> str:
    name = str(producer["name"])
    for prefix in ("Ville de ", "Commune de ", "Mairie de "):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def attributor_siret(producer: dict[str, Any]) -> str:
    """The town hall's SIRET: the commune's SIREN, establishment 0001, Luhn key (Tours' is 00011)."""
    return quirks.siret(str(producer["siren"]), establishment=1)


def build(producer: dict[str, Any], *, seed: int = 37) -> Extract:
    """The canonical rows of one commune's extract, with its seeded defects."""
    rng = quirks.producer_rng(seed, DATASET, producer["id"])
    style = style_for(producer["id"])
    town = commune_label(producer)
    n = row_count(int(producer.get("population") or 0))
    pool = _beneficiaries(rng, town, producer, max(5, n // 3))
    weights = [1.0 / (i + 1) ** 0.6 for i in range(len(pool))]  # a few associations get many subsidies
    weights[-1] = sum(weights[:-1]) / n  # the CCAS: about one convention, whatever the size of the town
    scale = (max(int(producer.get("population") or 0), 500) / 10_000) ** 0.2
    sessions = sorted(date(YEAR, m, rng.randint(5, 25)) for m in rng.sample(range(1, 13), 7))
    ref_style = rng.choice(["DCM {y}-{n:03d}", "Délibération n° {y}/{n:02d}", "DEL{y}_{n:03d}", "CM du {d}"])
    siret_attr = attributor_siret(producer)
    rows = []
    for _ in range(n):
        b = rng.choices(pool, weights)[0]
        session = rng.choice(sessions)
        signed = session + timedelta(days=rng.randint(0, 20))
        if b.kind == "public":
            amount = round(
                rng.uniform(0.7, 1.3) * 30 * max(int(producer.get("population") or 0), 500) ** 0.9, -2
            )
        else:
            median, spread = AMOUNTS[b.kind]
            amount = math.exp(rng.gauss(math.log(median * scale), spread))
            amount = round(min(max(amount, 50), 250_000), -1 if rng.random() < 0.7 else 2)
        unique = amount < 5000 or rng.random() < 0.4
        start = signed + timedelta(days=rng.randint(10, 60))
        period = start.isoformat() if unique else f"{start.isoformat()}/{_months_later(start, rng)}"
        nature = rng.choices(
            ["aide en numéraire", "aide en nature", "aide en numéraire;aide en nature"], [0.93, 0.05, 0.02]
        )[0]
        rows.append(
            {
                "nomAttribuant": str(producer["name"]),
                "idAttribuant": siret_attr,
                "dateConvention": signed.isoformat(),
                "referenceDecision": session,  # numbered once the rows are in date order
                "nomBeneficiaire": b.name,
                "idBeneficiaire": b.siret,
                "rnaBeneficiaire": b.rna,
                "objet": _objet(rng, b),
                "montant": float(amount),
                "nature": nature,
                "conditionsVersement": "unique" if unique else "échelonné",
                "datesPeriodeVersement": period,
                "idRAE": "",
                "notificationUE": rng.random() < 0.01,
                "pourcentageSubvention": rng.choices(
                    [1.0, 0.8, 0.5, 0.3, 0.25], [0.8, 0.05, 0.08, 0.04, 0.03]
                )[0],
                "dispositifAide": "",
            }
        )
    rows.sort(key=lambda r: (r["dateConvention"], r["nomBeneficiaire"]))
    for number, row in enumerate(rows, start=1):
        session = row["referenceDecision"]
        row["referenceDecision"] = ref_style.format(y=YEAR, n=number, d=session.strftime("%d/%m/%Y"))
    frame = pd.DataFrame(rows, columns=FIELDS, dtype=object)  # defects put text where numbers were
    frame.index = pd.RangeIndex(n)
    defects = pd.Series("", index=frame.index, dtype=object)
    n_bad = round(n * style.invalid)
    for position in sorted(rng.sample(range(n), n_bad)):
        defect = DEFECTS[position % len(DEFECTS)] if n_bad >= len(DEFECTS) else rng.choice(DEFECTS)
        if defect == "siret-luhn" and not frame.at[position, "idBeneficiaire"]:
            defect = "nom-manquant"  # an RNA-only beneficiary has no SIRET to mistype
        _break(frame, position, defect)
        defects[position] = defect
    return Extract(producer=producer, style=style, frame=frame, defects=defects)


def write(inbox: Path, producer: dict[str, Any], *, seed: int = 37) -> Path:
    """Build and write one commune's extract at ``inbox/<producer>/subventions/<file>``."""
    extract = build(producer, seed=seed)
    style = extract.style
    path = Path(inbox) / producer["id"] / DATASET / style.file
    header, rows = _table(extract)
    if style.format == "xlsx":
        return _write_xlsx(path, extract, header, rows)
    title = [f"{producer['name']} — Subventions attribuées en {YEAR}", ""] if style.title else []
    return quirks.write_csv(
        path,
        header,
        rows,
        encoding=style.encoding,
        delimiter=style.sep,
        title_lines=title,
        trailing_blank_lines=2 if style.headers == "labels" and not style.total else 0,
    )


# --- building blocks ----------------------------------------------------------------------------------------
def _beneficiaries(rng: random.Random, town: str, producer: dict[str, Any], size: int) -> list[Beneficiary]:
    places = TOURS_QUARTIERS if producer["id"] == "tours" else PLACES
    seen: dict[str, None] = {}
    pool: list[Beneficiary] = []
    while len(pool) < size - 1:
        kind = rng.choices(["sport", "culture", "social", "ecole"], [0.4, 0.3, 0.2, 0.1])[0]
        place = rng.choice(places)
        if kind == "sport":
            sport = rng.choice(SPORTS)
            name = rng.choice(
                [
                    f"{sport} Club {town}",
                    f"Union sportive {town} {sport}",
                    f"{town} {sport}",
                    f"Association sportive {place} – {sport}",
                    f"Les Ailes {place} ({sport})",
                ]
            )
        elif kind == "culture":
            name = f"{rng.choice(CULTURE)} {rng.choice(['de ' + town, place])}"
        elif kind == "social":
            name = f"{rng.choice(SOCIAL)} {rng.choice(['de ' + town, place])}"
        else:
            name = f"Association des parents d’élèves de l’école {rng.choice(SCHOOLS)}"
        if name in seen:
            name = f"{name} {len(pool)}" if len(seen) > 8 * size else name
            if name in seen:
                continue
        seen[name] = None
        only_rna = rng.random() < 0.12
        sir = "" if only_rna else quirks.siret(quirks.siren(rng), rng)
        has_rna = only_rna or rng.random() < 0.25
        pool.append(Beneficiary(name, kind, sir, quirks.rna(rng) if has_rna else ""))
    # the CCAS (an établissement public, SIREN 26…) gets the town's largest subsidy, in one or two
    # conventions: last in the pool, so the draw weights make it rare
    ccas_siren = quirks.luhn_complete("2637" + f"{rng.randint(0, 9999):04d}")
    pool.append(Beneficiary(f"CCAS de {town}", "public", quirks.siret(ccas_siren), ""))
    return pool


def _objet(rng: random.Random, b: Beneficiary) -> str:
    template = rng.choice(OBJETS[b.kind])
    sport = next((s for s in SPORTS if s in b.name), "sport")
    return template.format(year=YEAR, festival=rng.choice(FESTIVALS), sport_lower=sport.lower())


def _months_later(start: date, rng: random.Random) -> str:
    months = rng.choice([3, 6, 6, 9, 12])
    month = start.month - 1 + months
    end = date(start.year + month // 12, month % 12 + 1, 1) - timedelta(days=1)
    return end.isoformat()


def _break(frame: pd.DataFrame, i: int, defect: str) -> None:
    if defect == "siret-luhn":
        frame.at[i, "idBeneficiaire"] = quirks.broken_luhn(frame.at[i, "idBeneficiaire"])
    elif defect == "nom-manquant":
        frame.at[i, "nomBeneficiaire"] = ""
    elif defect == "montant-texte":
        frame.at[i, "montant"] = "à définir"
    elif defect == "pourcentage-sup-1":
        frame.at[i, "pourcentageSubvention"] = 45.0  # a percent typed where a fraction was asked
    elif defect == "nature-hors-liste":
        frame.at[i, "nature"] = "subvention"
    elif defect == "date-impossible":
        frame.at[i, "dateConvention"] = "2020-02-31"


def _table(extract: Extract) -> tuple[list[str], list[list[Any]]]:
    """Header and cells as the style writes them (Python values for xlsx, text for csv)."""
    style, frame = extract.style, extract.frame
    header, sources = header_cells(style)
    xlsx = style.format == "xlsx"
    false_text, true_text = style.booleans.split("/")
    rows = []
    for rec in frame.to_dict("records"):
        start, _, end = rec["datesPeriodeVersement"].partition("/")
        period = period_cell(start, end, style)
        cells = []
        for source in sources:
            value = rec.get(source, "")
            if source in ("idAttribuant", "idBeneficiaire", "COLL_SIRET", "ATTRIB_SIRET"):
                value = rec["idAttribuant" if source in ("idAttribuant", "COLL_SIRET") else "idBeneficiaire"]
                cells.append(identifier_cell(value, style))
            elif source in ("dateConvention", "ACTE_DATE"):
                cells.append(date_cell(rec["dateConvention"], style))
            elif source in ("montant", "SUB_MONTANT"):
                cells.append(number_cell(rec["montant"], style))
            elif source == "pourcentageSubvention" or source == "POURCENTAGE_SUBVENTION":
                cells.append(number_cell(rec["pourcentageSubvention"], style, percentage=True))
            elif source in ("notificationUE", "NOTIF_EU"):
                cells.append(true_text if rec["notificationUE"] else false_text)
            elif source == "datesPeriodeVersement":
                cells.append(period)
            elif source == "SUB_DATE_DEBUT":
                cells.append(date_cell(start, style))
            elif source == "SUB_DATE_FIN":
                cells.append(date_cell(end, style) if end else "")
            elif source == "nature" or source == "SUB_NATURE":
                # capitalised as in Haute-Garonne's export whenever booleans are capitalised too
                nature = rec["nature"]
                cells.append(nature[:1].upper() + nature[1:] if true_text[0].isupper() else nature)
            elif source == "ANNEE":
                cells.append(YEAR if xlsx else str(YEAR))
            elif source == "COLL_TYPE":
                cells.append("COM")
            else:
                v1 = {
                    "COLL_NOM": "nomAttribuant",
                    "ACTE_REF": "referenceDecision",
                    "ATTRIB_NOM": "nomBeneficiaire",
                    "RNA_BENEFICIAIRE": "rnaBeneficiaire",
                    "SUB_OBJET": "objet",
                    "SUB_VERSEMENT": "conditionsVersement",
                }
                text = str(rec[v1.get(source, source)])
                cells.append(text.upper() if style.headers == "v1" and source == "ATTRIB_NOM" else text)
        rows.append(cells)
    if style.total:
        amounts = pd.to_numeric(frame["montant"], errors="coerce")
        total = [""] * len(header)
        total[0] = "TOTAL"
        total[sources.index("montant" if "montant" in sources else "SUB_MONTANT")] = number_cell(
            float(amounts.sum()), style
        )
        rows += [[""] * len(header), total]  # a blank line, then the total, as agents lay them out
    return header, rows


def _write_xlsx(path: Path, extract: Extract, header: list[str], rows: list[list[Any]]) -> Path:
    style, producer = extract.style, extract.producer
    top: list[list[Any]] = []
    if style.title:
        top = [[str(producer["name"])], [f"Subventions aux associations — exercice {YEAR}"], []]
    _, sources = header_cells(style)
    formats = {}
    for i, source in enumerate(sources):
        if source in ("idAttribuant", "idBeneficiaire"):
            formats[i] = "0"
        elif source == "dateConvention":
            formats[i] = "dd/mm/yyyy"
        elif source == "montant":
            formats[i] = "#,##0.00 €"
        elif source == "pourcentageSubvention":
            formats[i] = "0%"
    sheets: list[tuple[str, list[list[Any]], dict[int, str]]] = []
    if producer["id"] == "fondettes":
        sheets.append(("Feuil1", [], {}))  # an empty first sheet: the reader must find the data
    sheets.append((f"Subventions {YEAR}", top + [header] + rows, formats))
    if style.title:
        notes = [
            ["Notes"],
            ["Montants en euros, votés en conseil municipal."],
            ["Source : service des finances"],
        ]
        sheets.append(("Lisez-moi", notes, {}))
    return quirks.write_xlsx(path, sheets)


def generate(inbox: Path, producers: list[dict[str, Any]], *, seed: int = 37) -> list[Path]:
    """One extract per commune of ``producers``."""
    return [write(inbox, p, seed=seed) for p in producers if p.get("kind") == "commune"]
