"""How each demo commune exports its subventions: one style per commune, and cells written in that style.

The styles table reproduces what real communes' files do (see :mod:`pipelines.demo.subventions`):
encodings, delimiters, header vocabularies (SCDL 2 names, labels, capitals, SCDL v1), French numbers,
dates and periods, SIRET through a float column, title and total lines.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pipelines.demo.quirks as quirks
from quality.schema import load_schema

YEAR = 2023
# The columns of SCDL subventions 2.1.1, in the schema's order.
FIELDS = load_schema("scdl-subventions").field_names


@dataclass(frozen=True)
class Style:
    """How one commune exports its subventions (see the table below)."""

    commune: str
    format: str  # csv | xlsx
    encoding: str  # utf-8 | utf-8-sig | cp1252 (xlsx: unused)
    sep: str  # field delimiter (xlsx: unused)
    headers: str  # scdl2 (field names) | labels ("Date convention") | upper (DATE_CONVENTION) | v1 (COLL_NOM)
    amounts: str  # plain (47800.2) | french (40 000,00) | french-nbsp (125 000,00) | float (10000.0)
    dates: str  # iso | fr (31/12/2023) | ymd-slash (2023/12/31)
    siret: str  # text | float (21860194600000.0)
    period: str  # slash (a/b) | underscore (a_b) | au ("a au b")
    booleans: str  # "false/true" spelling: non/oui, NON/OUI, Non/Oui
    title: bool  # title lines above the header
    total: bool  # a TOTAL line at the bottom
    invalid: float  # share of genuinely invalid rows
    file: str  # file name as dropped


# The per-commune styles at a glance. Legend: fmt csv|xlsx (xlsx holds real Excel numbers and dates, and
# ignores enc/sep/amounts/dates/siret); headers scdl2 (field names) | labels ("Date convention") | upper
# (DATE_CONVENTION) | v1 (COLL_NOM…); amounts plain 47800.2 | french 40 000,00 | nbsp 125\xa0000,00 |
# float 10000.0; dates iso | fr 31/12/2023 | ymd/ 2023/12/31; siret text | float 21860194600000.0;
# period "/" a/b | "_" a_b | "au" "a au b"; bool: how non/oui are spelt; invalid: seeded invalid rows.
STYLE_TABLE = """
commune                    fmt  enc       sep headers amounts dates siret period bool    title total invalid
tours                      csv  utf-8-sig ;   scdl2   plain   iso   text  /      non/oui -     -     3%
joue-les-tours             csv  cp1252    ;   labels  french  fr    text  _      Non/Oui title total 4%
saint-cyr-sur-loire        xlsx -         -   labels  -       -     -     au     Non/Oui title total 3%
saint-pierre-des-corps     csv  utf-8     ;   v1      float   iso   float /      NON/OUI -     -     3%
saint-avertin              csv  cp1252    ,   v1      nbsp    iso   text  /      NON/OUI -     -     4%
chambray-les-tours         xlsx -         -   scdl2   -       -     -     /      non/oui -     -     2%
fondettes                  xlsx -         -   upper   -       -     -     _      NON/OUI title total 3%
la-riche                   csv  utf-8-sig ;   scdl2   french  ymd/  text  _      non/oui -     -     3%
ballan-mire                csv  cp1252    ;   upper   french  fr    text  au     Non/Oui title total 4%
luynes                     xlsx -         -   labels  -       -     -     /      Non/Oui title -     3%
notre-dame-d-oe            csv  cp1252    ;   labels  french  fr    text  _      Non/Oui -     total 3%
chanceaux-sur-choisille    csv  utf-8     ,   scdl2   plain   iso   text  /      non/oui -     -     3%
savonnieres                csv  cp1252    ;   upper   french  fr    text  au     NON/OUI title -     3%
la-membrolle-sur-choisille csv  utf-8-sig ;   labels  nbsp    fr    text  _      Non/Oui -     total 3%
rochecorbon                csv  utf-8     ;   v1      float   iso   float /      NON/OUI -     -     3%
parcay-meslay              csv  cp1252    ;   labels  french  fr    text  _      Non/Oui title total 3%
mettray                    csv  utf-8     ;   scdl2   plain   iso   text  /      non/oui -     -     3%
saint-etienne-de-chigny    csv  cp1252    ;   upper   french  fr    text  _      Non/Oui -     -     3%
villandry                  csv  utf-8-sig ;   labels  french  fr    text  au     Non/Oui title total 3%
druye                      csv  cp1252    ;   v1      french  iso   text  /      NON/OUI -     -     3%
saint-genouph              csv  utf-8     ;   labels  plain   fr    text  _      non/oui -     -     3%
berthenay                  csv  cp1252    ;   upper   french  fr    text  au     Non/Oui title -     3%
default                    csv  utf-8     ;   scdl2   plain   iso   text  /      non/oui -     -     3%
"""
FILE_NAMES = {
    "tours": "tours-subventions-2023.csv",
    "joue-les-tours": "Subventions 2023 JLT.csv",
    "saint-cyr-sur-loire": "subventions_2023.xlsx",
    "saint-pierre-des-corps": "SCDL_COM_SPDC_subventions-2023.csv",
    "saint-avertin": "SUBVENTIONS_2023_LISTE.csv",
    "chambray-les-tours": "Subventions 2023.xlsx",
    "fondettes": "FONDETTES - subventions versees 2023.xlsx",
    "la-riche": "la-riche_subventions_2023.csv",
    "ballan-mire": "BALLAN-MIRE SUBVENTIONS 2023.csv",
    "luynes": "Luynes subventions associations 2023.xlsx",
    "notre-dame-d-oe": "subventions NDO 2023.csv",
    "chanceaux-sur-choisille": "subventions.csv",
    "savonnieres": "SAVONNIERES_SUBV_2023.csv",
    "la-membrolle-sur-choisille": "Subventions La Membrolle 2023.csv",
    "rochecorbon": "rochecorbon-subventions-2023.csv",
    "parcay-meslay": "Parcay-Meslay subventions 2023.csv",
    "mettray": "mettray-subventions-2023.csv",
    "saint-etienne-de-chigny": "SUBVENTIONS 2023.csv",
    "villandry": "Subventions Villandry 2023.csv",
    "druye": "druye_subv_2023.csv",
    "saint-genouph": "subventions-saint-genouph.csv",
    "berthenay": "BERTHENAY subventions 2023.csv",
}


def _parse_styles(table: str) -> dict[str, Style]:
    codes = {"nbsp": "french-nbsp", "ymd/": "ymd-slash", "/": "slash", "_": "underscore", "-": ""}
    styles = {}
    for line in table.strip().splitlines()[1:]:
        commune, fmt, enc, sep, headers, amounts, dates, siret, period, booleans, title, total, bad = (
            line.split()
        )
        styles[commune] = Style(
            commune=commune,
            format=fmt,
            encoding=codes.get(enc, enc),
            sep=codes.get(sep, sep),
            headers=headers,
            amounts=codes.get(amounts, amounts),
            dates=codes.get(dates, dates),
            siret=codes.get(siret, siret),
            period=codes.get(period, period),
            booleans=booleans,
            title=title == "title",
            total=total == "total",
            invalid=float(bad.rstrip("%")) / 100,
            file=FILE_NAMES.get(commune, f"subventions-{YEAR}.{fmt}"),
        )
    return styles


STYLES = _parse_styles(STYLE_TABLE)
# A commune added to the registry later gets the default style until someone gives it its own.
DEFAULT_STYLE = STYLES.pop("default")
LABELS = {
    "nomAttribuant": "Nom attribuant",
    "idAttribuant": "Id attribuant",
    "dateConvention": "Date convention",
    "referenceDecision": "Référence décision",
    "nomBeneficiaire": "Nom bénéficiaire",
    "idBeneficiaire": "Id bénéficiaire",
    "rnaBeneficiaire": "RNA bénéficiaire",
    "objet": "Objet",
    "montant": "Montant",
    "nature": "Nature",
    "conditionsVersement": "Conditions versement",
    "datesPeriodeVersement": "Dates période versement",
    "notificationUE": "Notification UE",
    "pourcentageSubvention": "Pourcentage subvention",
}


UPPER = {
    "nomAttribuant": "NOM_ATTRIBUANT",
    "idAttribuant": "ID_ATTRIBUANT",
    "dateConvention": "DATE_CONVENTION",
    "referenceDecision": "REFERENCE_DECISION",
    "nomBeneficiaire": "NOM_BENEFICIAIRE",
    "idBeneficiaire": "ID_BENEFICIAIRE",
    "rnaBeneficiaire": "RNA_BENEFICIAIRE",
    "objet": "OBJET",
    "montant": "MONTANT",
    "nature": "NATURE",
    "conditionsVersement": "CONDITIONS_VERSEMENT",
    "datesPeriodeVersement": "DATES_PERIODE_VERSEMENT",
    "notificationUE": "NOTIFICATION_UE",
    "pourcentageSubvention": "POURCENTAGE_SUBVENTION",
}


# SCDL v1 (OpenDataFrance 2017 draft) as the crosswalk quality/crosswalks/scdl-subventions.yaml reads it;
# ANNEE and COLL_TYPE have no 2.1.1 field and stay extra columns, as in Poitiers' file.
V1 = [
    "ANNEE",
    "COLL_NOM",
    "COLL_SIRET",
    "COLL_TYPE",
    "ACTE_DATE",
    "ACTE_REF",
    "ATTRIB_NOM",
    "ATTRIB_SIRET",
    "RNA_BENEFICIAIRE",
    "SUB_OBJET",
    "SUB_MONTANT",
    "SUB_NATURE",
    "SUB_VERSEMENT",
    "SUB_DATE_DEBUT",
    "SUB_DATE_FIN",
    "NOTIF_EU",
    "POURCENTAGE_SUBVENTION",
]


def style_for(producer_id: str) -> Style:
    return STYLES.get(producer_id, DEFAULT_STYLE)


def header_cells(style: Style) -> tuple[list[str], list[str]]:
    """(header cells, the FIELDS they come from) for a header style; v1 splits the period in two."""
    if style.headers == "v1":
        return V1, V1
    if style.headers == "scdl2":
        return list(FIELDS), list(FIELDS)
    names = LABELS if style.headers == "labels" else UPPER
    fields = [f for f in FIELDS if f in names]  # optional idRAE / dispositifAide left out, as most do
    return [names[f] for f in fields], fields


def period_cell(start: str, end: str, style: Style) -> str:
    if not end:
        return quirks.date_text(start, style.dates if style.dates else "fr")
    dates = style.dates or "fr"  # a spreadsheet period is typed as text, the French way
    a, b = quirks.date_text(start, dates), quirks.date_text(end, dates)
    if style.period == "slash" and dates != "iso":
        return f"{a} au {b}"  # a slash between two French dates would be unreadable
    return {"slash": f"{a}/{b}", "underscore": f"{a}_{b}", "au": f"{a} au {b}"}[style.period]


def identifier_cell(value: str, style: Style) -> Any:
    if not value:
        return ""
    if style.format == "xlsx":
        return int(value)  # typed into Excel: a number (shown without decimals by the format)
    return quirks.float_text(value) if style.siret == "float" else value


def date_cell(iso: str, style: Style) -> Any:
    if not iso:
        return ""
    if style.format == "xlsx":
        try:
            return datetime.fromisoformat(iso)
        except ValueError:
            return quirks.date_text(iso, "fr")  # Excel keeps an impossible date as text
    return quirks.date_text(iso, style.dates)


def number_cell(value: Any, style: Style, *, percentage: bool = False) -> Any:
    if isinstance(value, str):
        return value
    if style.format == "xlsx":
        return float(value)
    if style.amounts == "float":
        return quirks.float_text(value)
    decimals = 0 if percentage and float(value).is_integer() else 2
    if style.amounts in ("french", "french-nbsp"):
        if percentage:
            return f"{value:g}".replace(".", ",")
        return quirks.french_number(
            value, decimals=decimals, thousands="\xa0" if style.amounts == "french-nbsp" else " "
        )
    return f"{value:g}" if percentage else (f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}")
