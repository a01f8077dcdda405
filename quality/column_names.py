"""How a column is named to the agent: as in their own file, with the schema's field in brackets.

A commune's export says ``COLL_SIRET``; the schema says ``idAttribuant`` (« SIRET de l'attribuant »).
The agent fixes their file, so every message about a column starts from their header; the field and
its title follow in brackets so the data team and the documentation meet the agent there.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import pandas as pd


def column_label(field: str, header: str | None = None, title: str | None = None) -> str:
    """« COLL_SIRET » (idAttribuant : SIRET de l'attribuant); « idAttribuant » (SIRET de l'attribuant)
    when the file uses the field's name; the field alone when it has no title and no other header."""
    title = (title or "").strip()
    if header and header != field:
        return f"« {header} » ({field} : {title})" if title else f"« {header} » ({field})"
    return f"« {field} » ({title})" if title else f"« {field} »"


def column_labels(
    fields: list[str], source_of_field: Mapping[str, str], titles: Mapping[str, str]
) -> dict[str, str]:
    """Every field's label, given field → the agent's header and field → title."""
    return {f: column_label(f, source_of_field.get(f), titles.get(f)) for f in fields}


def in_agent_words(messages: pd.Series, fields: pd.Series, labels: Mapping[str, str]) -> pd.Series:
    """Messages whose « field » (as the validator names it) becomes the agent's label.

    Only the quoted field of the message's own column is replaced, once per message, so a value that
    happens to equal a field's name is left alone; vectorised per field (one pass each).
    """
    out = messages.astype(str).copy()
    for field, label in labels.items():
        quoted = f"« {field} »"
        if label == quoted:
            continue
        mask = (fields == field).to_numpy()
        if mask.any():
            out.loc[mask] = out.loc[mask].str.replace(quoted, label, n=1, regex=False)
    return out


def message_in_agent_words(message: str, labels: Mapping[str, str]) -> str:
    """A single message (a structure issue) with every quoted field named the agent's way."""

    def replace(match: re.Match[str]) -> str:
        return labels.get(match[1], match[0])

    return re.sub(r"« ([^«»]+?) »", replace, message)
