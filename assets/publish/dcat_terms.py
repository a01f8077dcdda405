"""The vocabularies the DCAT-AP catalogue speaks: namespaces, EU themes, frequencies, licences, publisher.

The controlled terms the catalogue is allowed to use, checked where a dataset's metadata is built
(``theme("GOVE")``, ``frequency("ANNUAL")``), so a typo fails at publication rather than in udata.
"""

from __future__ import annotations

from rdflib import URIRef
from rdflib.namespace import DCTERMS, Namespace

from quality.frequency import EU_CODES

DCT = DCTERMS
SPDX = Namespace("http://spdx.org/rdf/terms#")
HYDRA = Namespace("http://www.w3.org/ns/hydra/core#")
LOCN = Namespace("http://www.w3.org/ns/locn#")
GSP = Namespace("http://www.opengis.net/ont/geosparql#")
EU = "http://publications.europa.eu/resource/authority/"
IANA = "https://www.iana.org/assignments/media-types/"
GEOJSON_LITERAL = URIRef(IANA + "application/vnd.geo+json")

LICENCE_OUVERTE_2_0 = "https://www.etalab.gouv.fr/licence-ouverte-open-licence/"
ODBL_1_0 = "https://opendatacommons.org/licenses/odbl/1-0/"
LICENCE_TITLES = {
    LICENCE_OUVERTE_2_0: "Licence Ouverte / Open Licence version 2.0",
    ODBL_1_0: "Open Data Commons Open Database License (ODbL)",
}

# EU data themes with their French labels (Publications Office "data-theme" authority table).
THEMES = {
    "AGRI": "Agriculture, pêche, sylviculture et alimentation",
    "ECON": "Économie et finances",
    "EDUC": "Éducation, culture et sport",
    "ENER": "Énergie",
    "ENVI": "Environnement",
    "GOVE": "Gouvernement et secteur public",
    "HEAL": "Santé",
    "INTR": "Questions internationales",
    "JUST": "Justice, système juridique et sécurité publique",
    "REGI": "Régions et villes",
    "SOCI": "Population et société",
    "TECH": "Science et technologie",
    "TRAN": "Transports",
}
# The EU frequency codes a dataset may carry: the registry's (quality.frequency) and two it never declares.
FREQUENCIES = {*EU_CODES.values(), "CONT", "NEVER"}
LANGUAGES = {"fr": "FRA", "en": "ENG"}
FILE_TYPES = {"CSV": "CSV", "GeoJSON": "GEOJSON", "Parquet": "PARQUET"}

TMVL_NAME = "Tours Métropole Val de Loire"
TMVL_SIREN = "243700754"


def theme(code: str) -> str:
    """EU data-theme IRI, e.g. ``theme("GOVE")``."""
    if code not in THEMES:
        raise ValueError(f"thème européen inconnu : {code}")
    return f"{EU}data-theme/{code}"


def frequency(code: str) -> str:
    """EU frequency IRI, e.g. ``frequency("ANNUAL")``."""
    if code not in FREQUENCIES:
        raise ValueError(f"fréquence européenne inconnue : {code}")
    return f"{EU}frequency/{code}"
