"""Load a big subventions partition through ``Warehouse.replace_partition``, to be killed mid-COPY.

Usage: ``python load_big.py <url> <producer> <copies> <batch_id>``. The frame is the valid SCDL
example typed by the real validator, repeated ``copies`` times, so COPY lasts long enough to be seen
in ``pg_stat_activity`` (and killed there by the test).
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from assets.harmonise.ingest import ingest_file
from quality.schema import load_schema
from resources.warehouse import BatchRecord, Warehouse

VALID = Path(__file__).resolve().parents[3] / "shared" / "schemas" / "scdl-subventions" / "exemple-valide.csv"


def big_frames(copies: int, producer: str = "tours") -> tuple[pd.DataFrame, pd.DataFrame]:
    """The valid example's accepted rows repeated ``copies`` times, with distinct source rows."""
    schema = load_schema("scdl-subventions@2.1.1")
    ingested = ingest_file(VALID, schema, context={"producer": producer, "file_name": VALID.name})
    accepted = pd.concat([ingested.accepted] * copies, ignore_index=True)
    accepted["source_row"] = range(2, len(accepted) + 2)
    return accepted, ingested.quarantined


def main(url: str, producer: str, copies: int, batch_id: str) -> None:
    schema = load_schema("scdl-subventions@2.1.1")
    accepted, quarantined = big_frames(copies, producer)
    batch = BatchRecord(
        batch_id=batch_id,
        producer=producer,
        dataset="subventions",
        file_name="gros.csv",
        sha256=batch_id,
        received_at=datetime.now(UTC),
        rows_read=len(accepted),
        rows_accepted=len(accepted),
        rows_quarantined=0,
    )
    warehouse = Warehouse(url=url)
    warehouse.ensure_dataset("subventions", schema)
    print("loading", flush=True)
    warehouse.replace_partition(schema, "subventions", batch, accepted, quarantined.iloc[0:0])
    print("loaded", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4])
