"""How assets and partitions are named, shared by the factories, the runner and the tests."""

import dagster as dg

from pipelines.registry import Dataset


def partitions_for(dataset: Dataset) -> dg.StaticPartitionsDefinition:
    """One partition per producer that has a source for the dataset."""
    return dg.StaticPartitionsDefinition(dataset.producer_ids)


def asset_key(dataset: Dataset, stage: str) -> dg.AssetKey:
    """``<table>/<stage>``: asset key parts allow ``_`` but not ``-``, so the table name is used."""
    return dg.AssetKey([dataset.table, stage])
