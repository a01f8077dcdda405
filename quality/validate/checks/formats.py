"""Formats read by the libraries Validata uses: OSM opening hours, phone numbers, the Actes nomenclature."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from quality.schema import TableSchema
from quality.text import without_accents
from quality.validate.checks.registry import register
from quality.validate.checks.verdicts import single_column


@register("opening-hours-value")
def opening_hours_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    import opening_hours  # opening-hours-py, the parser Validata uses

    return single_column(
        frame,
        params["column"],
        "opening-hours-value",
        lambda u: np.array([not opening_hours.validate(v) for v in u], dtype=bool),
        "n'est pas une définition d'horaires d'ouverture correcte (syntaxe OpenStreetMap opening_hours, "
        "ex. « Mo-Fr 08:30-12:00,14:00-17:30 »).",
    )


def phone_valid(value: str) -> bool:
    """French number (short numbers included) or international one with its country prefix."""
    import phonenumbers  # Google's libphonenumber port, as Validata

    for region in ("FR", None):
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number) or (region and phonenumbers.is_valid_short_number(number)):
            return True
    return False


@register("phone-number-value")
def phone_number_value(frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]) -> pd.DataFrame:
    return single_column(
        frame,
        params["column"],
        "phone-number-value",
        lambda u: np.array([not phone_valid(v) for v in u], dtype=bool),
        "n'est pas un numéro de téléphone valide (numéro français à 10 chiffres, numéro court, "
        "ou international avec l'indicatif du pays, ex. +33 1 99 00 27 37).",
    )


ACTES_PREFIXES = {
    "Commande publique",
    "Urbanisme",
    "Domaine et patrimoine",
    "Fonction publique",
    "Institutions et vie politique",
    "Libertés publiques et pouvoirs de police",
    "Finances locales",
    "Domaines de compétences par thèmes",
    "Autres domaines de compétences",
}


def _fold(s: pd.Series) -> pd.Series:
    """Lower case without accents, as fr-format compares nomenclature prefixes."""
    return s.map(lambda v: without_accents(v).lower())


@register("nomenclature-actes-value")
def nomenclature_actes_value(
    frame: pd.DataFrame, schema: TableSchema, params: dict[str, Any]
) -> pd.DataFrame:
    allowed = set(_fold(pd.Series(sorted(ACTES_PREFIXES))))

    def verdict(u: pd.Series) -> np.ndarray:
        has_slash = u.str.contains("/", regex=False).to_numpy(bool)
        prefix = u.str.split("/", n=1).str[0]
        known = _fold(prefix).isin(allowed).to_numpy(bool)
        spaced = u.str.contains(re.escape("/ "), regex=True).to_numpy(bool) | (
            has_slash & ~known & _fold(prefix.str.rstrip()).isin(allowed).to_numpy(bool)
        )
        out = np.full(len(u), "", dtype=object)
        out[has_slash & ~known] = (
            "ne commence pas par une matière de la nomenclature Actes ("
            + ", ".join(sorted(ACTES_PREFIXES))
            + ")."
        )
        out[spaced] = ": la barre oblique « / » ne doit être ni précédée ni suivie d'une espace."
        out[~has_slash] = (
            "ne suit pas la nomenclature Actes « Matière/Sous-matière » : la barre oblique « / » manque."
        )
        return out

    return single_column(frame, params["column"], "nomenclature-actes-value", verdict, None)
