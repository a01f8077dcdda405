"""What the portal knows of a published dataset's columns: the schema's fields plus the lineage.

Only names listed here ever reach SQL (quoted with ``psycopg.sql.Identifier``): a filter, a sort or a
``columns=`` naming anything else is refused before any query is built.
"""

from __future__ import annotations

from dataclasses import dataclass

from assets.dataset_schema import dataset_schema
from quality.schema import Field, TableSchema
from resources.registry.model import Dataset, Registry

# The warehouse's lineage columns (resources.warehouse.LINEAGE), public in the published files too.
LINEAGE = ("producer", "batch_id", "source_row")

# PostgreSQL type a filter value is cast to, per Table Schema type (the warehouse's column types).
SQL_TYPES = {
    "number": "numeric",
    "integer": "bigint",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamptz",
    "time": "time",
    "year": "integer",
    "duration": "interval",
}
JSON_TYPES = ("array", "object")
ORDERED_TYPES = ("number", "integer", "date", "datetime", "time", "year", "duration")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    title: str = ""
    description: str = ""
    field: Field | None = None  # the schema's field; None for the lineage columns

    @property
    def sql_type(self) -> str:
        return SQL_TYPES.get(self.type, "text")

    @property
    def is_geometry(self) -> bool:
        # The one list of geometry types, shared with the reader, the validator and the warehouse.
        from quality.geo import GEOMETRY_TYPES

        return self.type in GEOMETRY_TYPES

    @property
    def is_json(self) -> bool:
        return self.type in JSON_TYPES

    @property
    def sortable(self) -> bool:
        return not (self.is_geometry or self.is_json)


@dataclass(frozen=True)
class PublishedDataset:
    """One registry dataset as the portal serves it."""

    dataset: Dataset
    schema: TableSchema
    columns: tuple[Column, ...]

    @property
    def id(self) -> str:
        return self.dataset.id

    @property
    def table(self) -> str:
        return self.dataset.table

    @property
    def geometry(self) -> Column | None:
        return next((c for c in self.columns if c.is_geometry), None)

    def column(self, name: str) -> Column | None:
        return next((c for c in self.columns if c.name == name), None)

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]


def published_datasets(registry: Registry) -> dict[str, PublishedDataset]:
    """Every registry dataset as the portal serves it, by id (built once at start)."""
    return {dataset_id: _published(dataset) for dataset_id, dataset in registry.datasets.items()}


def _published(dataset: Dataset) -> PublishedDataset:
    schema = dataset_schema(dataset)
    columns = [Column(f.name, f.type, f.title or "", f.description or "", f) for f in schema.fields]
    columns += [
        Column("producer", "string", "Producteur", "Identifiant du producteur (registre territoire)"),
        Column("batch_id", "string", "Lot", "Lot d'origine de la ligne"),
        Column("source_row", "integer", "Ligne source", "Numéro de ligne dans le fichier d'origine"),
    ]
    return PublishedDataset(dataset, schema, tuple(columns))
