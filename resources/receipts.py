"""The archive's receipts read without Dagster: what ``territoire run`` checks before importing it.

``resources/store.py`` (the Dagster resource) writes the archive and builds on these; deciding whether
a run has work (a receipt no batch took yet, a feed's validators for its conditional request) only
reads small JSON files, so nothing here may import a heavy library.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from resources.inbox import safe_id


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ArchivedFile:
    """One file in the archive, with what we know of how it arrived."""

    producer: str
    dataset: str
    sha256: str
    path: str
    file_name: str
    received_at: str
    source_url: str | None = None
    http_etag: str | None = None
    http_last_modified: str | None = None
    # The receipt's place in the home's drop sequence (None: archived before sequences existed).
    sequence: int | None = None

    @property
    def received(self) -> datetime:
        return datetime.fromisoformat(self.received_at)


def archive_dir(root: Path, producer: str, dataset: str) -> Path:
    return root / "archive" / safe_id(producer, "producer") / safe_id(dataset, "dataset")


def archived(root: Path, producer: str, dataset: str) -> list[ArchivedFile]:
    """Every receipt of one partition, in drop order (one per drop or changed harvest)."""
    folder = archive_dir(root, producer, dataset) / "receipts"
    if not folder.is_dir():
        return []
    records = [ArchivedFile(**json.loads(p.read_text(encoding="utf-8"))) for p in folder.glob("*.json")]
    return sorted(records, key=lambda r: r.sequence or 0)


def validators(receipts: list[ArchivedFile]) -> dict[str, str | None] | None:
    """What a feed's next conditional request sends: the validators of the last file archived from it."""
    if not receipts:
        return None
    last = receipts[-1]
    return {"etag": last.http_etag, "last_modified": last.http_last_modified, "sha256": last.sha256}
