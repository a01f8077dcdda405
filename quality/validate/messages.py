"""The validator's French: what a broken rule says to the agent who wrote the file.

Rule codes (``pattern``, ``enum``…) stay in the ``rule`` column; the ``message`` column is a sentence an
agent reads, naming the column, the row (as a French reader writes numbers) and the value.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from quality.errors import ERROR_COLUMNS
from quality.french import fr_ints
from quality.schema import Field
from quality.validate.types import DEFAULT_FALSE, DEFAULT_TRUE


def _pattern_label(pattern: str) -> str:
    core = pattern.removeprefix("^").removesuffix("$")
    digits = r"(?:\\d|\[0-9\])"
    if m := re.fullmatch(digits + r"\{(\d+)\}", core):
        return f"({m[1]} chiffres)"
    if m := re.fullmatch(digits + r"\{(\d+),(\d+)\}", core):
        return f"(de {m[1]} à {m[2]} chiffres)"
    return f": {pattern}"


def _type_label(f: Field) -> str:
    d = f.descriptor
    human_fmt = (f.format or "").replace("fmt:", "")
    for a, b in (
        ("%Y", "AAAA"),
        ("%m", "MM"),
        ("%d", "JJ"),
        ("%H", "HH"),
        ("%M", "MM"),
        ("%S", "SS"),
        ("%y", "AA"),
    ):
        human_fmt = human_fmt.replace(a, b)
    if f.type == "number":
        dec = d.get("decimalChar", ".")
        return f"un nombre valide (séparateur décimal « {dec} », sans espace ni unité)"
    if f.type == "boolean":
        values = list(d.get("trueValues", DEFAULT_TRUE)) + list(d.get("falseValues", DEFAULT_FALSE))
        return "une valeur booléenne admise (" + ", ".join(map(str, values)) + ")"
    if f.type in ("date", "datetime", "time") and f.format and f.format != "any":
        return f"{'une date' if f.type != 'time' else 'une heure'} au format {human_fmt}"
    if f.type == "string":
        return {
            "email": "une adresse électronique valide",
            "uri": "une adresse web complète (avec son schéma, ex. https://)",
            "uuid": "un identifiant UUID valide",
            "binary": "une valeur base64 valide",
            "wkt": "une géométrie WKT valide",
        }.get(f.format or "", "un texte valide")
    if f.type == "geopoint":
        return {
            "array": "des coordonnées [longitude, latitude] valides",
            "object": 'des coordonnées {"lon": …, "lat": …} valides',
        }.get(f.format or "", "des coordonnées « longitude, latitude » valides")
    return {
        "integer": "un nombre entier valide",
        "date": "une date au format AAAA-MM-JJ",
        "datetime": "une date et heure au format AAAA-MM-JJTHH:MM:SS",
        "time": "une heure au format HH:MM:SS",
        "year": "une année sur 4 chiffres",
        "yearmonth": "une année et un mois au format AAAA-MM",
        "duration": "une durée ISO 8601 valide (ex. P1DT2H)",
        "geojson": "un objet GeoJSON valide",
        "object": "un objet JSON valide",
        "array": 'une liste JSON valide (ex. ["a","b"])',
    }.get(f.type, f"une valeur de type {f.type}")


def _short_list(values: list[Any], limit: int = 8) -> str:
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (", …" if len(values) > limit else "")


def rule_suffix(f: Field, rule: str) -> str:
    """What follows « valeur » in the message of a broken rule on field ``f``."""
    c = f.constraints
    return {
        "type": f"n'est pas {_type_label(f)}.",
        "format": f"n'est pas {_type_label(f)}.",
        "required": "valeur obligatoire manquante.",
        "pattern": f"ne respecte pas le motif attendu {_pattern_label(str(c.get('pattern')))}.",
        "enum": f"n'est pas une valeur autorisée (valeurs admises : {_short_list(list(c.get('enum', [])))}).",
        "minimum": f"est inférieure au minimum autorisé ({c.get('minimum')}).",
        "maximum": f"est supérieure au maximum autorisé ({c.get('maximum')}).",
        "exclusiveMinimum": f"doit être strictement supérieure à {c.get('exclusiveMinimum')}.",
        "exclusiveMaximum": f"doit être strictement inférieure à {c.get('exclusiveMaximum')}.",
        "minLength": f"est trop courte (au moins {c.get('minLength')} caractères ou éléments attendus).",
        "maxLength": f"est trop longue (au plus {c.get('maxLength')} caractères ou éléments attendus).",
        "unique": "est en double : cette colonne doit contenir des valeurs uniques",
    }.get(rule, "ne respecte pas une règle du schéma.")


# What an element of a list-valued cell breaks, in words (rule codes never reach an agent).
ELEMENT_RULES_FR = {
    "pattern": "le motif attendu",
    "enum": "la liste des valeurs admises",
    "minimum": "le minimum autorisé",
    "maximum": "le maximum autorisé",
    "minLength": "la longueur minimale",
    "maxLength": "la longueur maximale",
    "type": "le type attendu",
    "format": "le format attendu",
}


def messages(field: str, rows: pd.Series, values: pd.Series, suffix: str | pd.Series) -> pd.Series:
    """« Colonne « X », ligne N : « v » <suffix> », built column-wise."""
    head = f"Colonne « {field} », ligne " + _row_numbers(rows) + " : "
    shown = np.where(values.to_numpy(object) == "", "", "« " + values.astype(str).to_numpy(object) + " » ")
    return pd.Series(head + shown + np.asarray(suffix, dtype=object), index=rows.index)


def _row_numbers(rows: pd.Series) -> np.ndarray:
    """Row numbers as a French reader writes them: 12 345 (narrow no-break space) from 1 000 on."""
    return np.array(fr_ints(rows.astype("int64").tolist()), dtype=object)


def error_frame(rows: Any, field: str, rule: str, values: Any, message: Any) -> pd.DataFrame:
    return pd.DataFrame(
        {"row": rows, "field": field, "rule": rule, "value": values, "message": message},
        columns=ERROR_COLUMNS,
    )


def empty_errors() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in ERROR_COLUMNS})
