"""The warehouse's names: roles, schemas, lineage columns, and the table names derived from a dataset's."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from resources.batch_log import OWNER_ROLE

if TYPE_CHECKING:
    from quality.schema import TableSchema

ANALYST_ROLE = "territoire_analyst"
SCHEMAS = ("harmonised", "quarantine", "published", "meta")
READABLE = ("harmonised", "quarantine", "published")
LINEAGE = ("producer", "batch_id", "source_row")
_DATASET_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


def table_name(dataset: str) -> str:
    """The warehouse table name of a dataset: ``-`` becomes ``_``; anything else odd is refused."""
    name = dataset.replace("-", "_")
    if not _DATASET_NAME.match(name):
        raise ValueError(
            f"Nom de jeu de données invalide pour l'entrepôt : {dataset!r} "
            "(attendu : minuscules, chiffres et _ , commençant par une lettre, 63 caractères au plus)."
        )
    return name


def derived_name(table: str, suffix: str, *, prefix: str = "") -> str:
    """The name of a table derived from a dataset's (history, duplicates, candidate…).

    PostgreSQL silently truncates identifiers beyond 63 bytes, which would make two derived tables
    collide: refuse instead.
    """
    name = f"{prefix}{table}{suffix}"
    if len(name.encode()) > 63:
        raise ValueError(f"Nom de table trop long pour l'entrepôt : {name!r} (63 caractères au plus).")
    return name


def published_columns(schema: TableSchema | list[str]) -> list[str]:
    """The columns of a published table: the schema's fields and the lineage (or a list already)."""
    return list(schema) if isinstance(schema, list) else [*schema.field_names, *LINEAGE]


__all__ = [
    "ANALYST_ROLE",
    "LINEAGE",
    "OWNER_ROLE",
    "READABLE",
    "SCHEMAS",
    "derived_name",
    "published_columns",
    "table_name",
]
