"""What a batch report says about a file's columns: how each one was matched, and, for a file refused
because required columns are absent, which ones and the file's closest header to each.

The closest header is only a hint for the agent (« Raison Sociale » for ``nomBeneficiaire``?), never
used to match: a refused file stays refused until its columns are renamed or declared in the registry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import SequenceMatcher
from typing import Any

from assets.harmonise.header_key import header_key
from assets.harmonise.headers import HeaderMatch

# Below this similarity a header is not shown as "closest": it would mislead more than help.
MIN_HINT_SCORE = 0.55

HOW_FR = {
    "mapping": "correspondance déclarée pour ce producteur",
    "exact": "nom du champ",
    "key": "nom du champ (casse, accents ou ponctuation près)",
    "title": "titre du champ",
    "alias": "intitulé usuel ou d'une version antérieure du schéma",
    "title-start": "début du titre du champ",
    "crosswalk": "version antérieure du schéma (table de correspondance)",
    "near": "intitulé proche (pluriel, mot omis, lettre différente)",
}


def column_matches(match: HeaderMatch) -> dict[str, Any]:
    """« colonne du fichier → champ du schéma » for every matched column, and the unmatched columns."""
    matched = [
        {
            "column": column,
            "field": field,
            "how": match.how.get(column, ""),
            "how_label": HOW_FR.get(match.how.get(column, ""), ""),
        }
        for column, field in match.fields.items()
    ]
    for field, (sources, joiner) in match.combined.items():
        matched.append(
            {
                "column": f" {joiner} ".join(sources),
                "field": field,
                "how": "crosswalk",
                "how_label": f"colonnes réunies ({HOW_FR['crosswalk']})",
            }
        )
    for source, pattern in match.split.items():
        matched.append(
            {
                "column": source,
                "field": ", ".join(re.compile(pattern).groupindex),
                "how": "crosswalk",
                "how_label": f"colonne découpée ({HOW_FR['crosswalk']})",
            }
        )
    return {"matched": matched, "unmatched": list(match.unmatched)}


def closest_header(field: str, title: str | None, headers: Iterable[str]) -> tuple[str | None, float]:
    """The header most like the field's name or title (difflib ratio on comparison keys), and its score."""
    targets = [header_key(t) for t in (field, title) if t]
    best, score = None, 0.0
    for header in headers:
        key = header_key(header)
        if not key:
            continue
        ratio = max(SequenceMatcher(None, key, t, autojunk=False).ratio() for t in targets)
        if ratio > score:
            best, score = header, ratio
    return best, score


def missing_columns_refusal(
    missing: list[str], columns: Iterable[str], match: HeaderMatch, schema: Any
) -> dict[str, Any]:
    """The refusal of a file lacking required columns: a French message (``{file}`` to fill) and details."""
    columns = [str(c) for c in columns]
    # Columns already feeding a field are not offered as the missing one's closest header.
    free = [c for c in columns if c not in match.how] or columns
    closest = []
    for name in missing:
        field = schema.field(name)
        header, score = closest_header(name, getattr(field, "title", None), free)
        hint = header if header is not None and score >= MIN_HINT_SCORE else None
        closest.append(
            {
                "field": name,
                "title": getattr(field, "title", None) or "",
                "closest": hint,
                "score": round(score, 2),
            }
        )
    listed = ", ".join(
        f"« {c['field']} »" + (f" (colonne la plus proche : « {c['closest']} »)" if c["closest"] else "")
        for c in closest
    )
    message = (
        f"Le fichier « {{file}} » n'a pas été chargé : il lui manque {len(missing)} colonne(s) "
        f"obligatoire(s) du schéma {schema.name} : {listed}. Renommez les colonnes concernées (ou "
        "ajoutez-les) puis déposez-le à nouveau ; les données publiées précédemment restent en place."
    )
    return {"message": message, "missing": missing, "found": columns, "closest": closest}
