"""The Table Schema a registry dataset publishes: its shipped schema, plus a point geometry when the
registry says which two columns hold the position (``geometry: {lon: FIELD, lat: FIELD}``)."""

from __future__ import annotations

from functools import cache

from quality.schema import TableSchema, load_schema
from resources.registry.model import Dataset


def dataset_schema(dataset: Dataset) -> TableSchema:
    """``load_schema(dataset.schema_ref)``, plus ``geom`` for a dataset that declares ``geometry``."""
    geometry = dataset.geometry
    if geometry is None:
        return load_schema(dataset.schema_ref)
    return _with_point(dataset.schema_ref, geometry.lon, geometry.lat, geometry.name)


@cache
def _with_point(schema_ref: str, lon: str, lat: str, name: str) -> TableSchema:
    # Cached like load_schema: the assets ask for the schema on every partition run.
    return load_schema(schema_ref).with_point(lon, lat, name)
