"""The file side of the platform under ``TERRITOIRE_HOME``: inbox, content-addressed archive, reports,
publication folder.

The archive keeps the bytes exactly as received, named by their sha256, with a small JSON sidecar
(original name, time received, where it came from). Every *receipt* (a drop, or a harvest that brought
changed bytes) gets a number from one monotonic drop sequence per home, recorded when ``territoire drop``
or the sensor first sees the file; files are processed in that order, so the last file dropped is the
producer's current one even when two arrive in the same second, and dropping again bytes sent before
is a new receipt (the commune's way back to an earlier file). Paths are only ever built from ids the
registry knows and from names reduced to a safe basename, so nothing that arrives can escape its folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from resources.inbox import (
    SAFE_ID,
    default_home,
    drop_file,
    drop_sequence,
    inbox_dir,
    inbox_files,
    next_sequence,
    safe_file_name,
    safe_id,
    sequence_sidecar,
    write_atomic,
)
from resources.receipts import ArchivedFile, archive_dir, archived, sha256_file

__all__ = ["SAFE_ID", "ArchivedFile", "Store", "default_home", "safe_file_name", "safe_id", "sha256_file"]


class Store(dg.ConfigurableResource):
    """Inbox, archive, reports and publication folders under one home."""

    home: str = ""

    @property
    def root(self) -> Path:
        return Path(self.home).resolve() if self.home else default_home()

    @property
    def publish_dir(self) -> Path:
        return self.root / "publish"

    @property
    def reports_dir(self) -> Path:
        return self.root / "reports"

    def inbox(self, producer: str, dataset: str) -> Path:
        return inbox_dir(self.root, producer, dataset)

    def archive_dir(self, producer: str, dataset: str) -> Path:
        return archive_dir(self.root, producer, dataset)

    def next_sequence(self) -> int:
        """The next number of the home's drop sequence (monotonic, safe across processes)."""
        return next_sequence(self.root)

    def drop(self, producer: str, dataset: str, source: Path) -> Path:
        """Copy a file into the inbox (what ``territoire drop`` does), with its drop sequence number."""
        return drop_file(self.root, producer, dataset, source)

    def failed_dir(self, producer: str, dataset: str) -> Path:
        return self.root / "failed" / safe_id(producer, "producer") / safe_id(dataset, "dataset")

    def set_aside(self, producer: str, dataset: str, path: Path) -> Path:
        """Move an inbox file whose batch failed out of the inbox, so it is not retried at every run
        (the archive keeps its bytes; the data team drops it again once the bug is fixed)."""
        folder = self.failed_dir(producer, dataset)
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / path.name
        if target.exists():
            target = folder / f"{path.stem}-{int(path.stat().st_mtime_ns)}{path.suffix}"
        os.replace(path, target)
        sequence_sidecar(path).unlink(missing_ok=True)
        return target

    def inbox_files(self, producer: str, dataset: str) -> list[Path]:
        """Files waiting in one inbox folder, in drop order; hidden and partial files are skipped.

        A file copied into the folder by other means than ``territoire drop`` (a network share) gets
        its sequence number the first time it is seen, with every such file of the home, in the order
        of their modification times (``resources.inbox.number_unseen_files``).
        """
        return inbox_files(self.root, producer, dataset)

    @staticmethod
    def drop_sequence(path: Path) -> int | None:
        """The drop sequence number of an inbox file, None before the platform has seen it."""
        return drop_sequence(path)

    def inbox_copies(self, producer: str, dataset: str, sequence: int | None, sha256: str) -> list[Path]:
        """The inbox copy of one receipt; a file dropped again under the same name since has another
        sequence number and is not it."""
        return [
            path
            for path in self.inbox_files(producer, dataset)
            if (sequence is not None and self.drop_sequence(path) == sequence)
            or (sequence is None and sha256_file(path) == sha256)
        ]

    def remove_from_inbox(self, producer: str, dataset: str, sequence: int | None, sha256: str) -> None:
        """Delete the inbox copy of one receipt (its batch is committed; the archive keeps the bytes)."""
        for path in self.inbox_copies(producer, dataset, sequence, sha256):
            path.unlink(missing_ok=True)
            sequence_sidecar(path).unlink(missing_ok=True)

    def pending_inboxes(self) -> dict[tuple[str, str], list[Path]]:
        """Every (producer, dataset) inbox folder that holds files; unsafe folder names are ignored."""
        pending: dict[tuple[str, str], list[Path]] = {}
        inbox = self.root / "inbox"
        if not inbox.is_dir():
            return pending
        for producer_dir in inbox.iterdir():
            if (
                not producer_dir.is_dir()
                or producer_dir.is_symlink()
                or not SAFE_ID.fullmatch(producer_dir.name)
            ):
                continue
            for dataset_dir in producer_dir.iterdir():
                if (
                    dataset_dir.is_dir()
                    and not dataset_dir.is_symlink()
                    and SAFE_ID.fullmatch(dataset_dir.name)
                ):
                    files = self.inbox_files(producer_dir.name, dataset_dir.name)
                    if files:
                        pending[(producer_dir.name, dataset_dir.name)] = files
        return pending

    def archive_file(
        self,
        producer: str,
        dataset: str,
        path: Path,
        *,
        file_name: str | None = None,
        sequence: int | None = None,
        **provenance: str | None,
    ) -> ArchivedFile:
        """Copy ``path`` into the archive under its sha256 and record its receipt; return the receipt.

        Idempotent per receipt: the same ``sequence`` (an inbox file's) archived twice is one receipt.
        Without a sequence, bytes already archived for the partition return their latest receipt.
        """
        digest = sha256_file(path)
        name = safe_file_name(file_name or path.name)
        write = lambda target: shutil.copyfile(path, target)  # noqa: E731
        return self._archive(producer, dataset, digest, name, write, provenance, sequence)

    def archive_bytes(
        self, producer: str, dataset: str, content: bytes, file_name: str, **provenance: str | None
    ) -> ArchivedFile:
        """Archive harvested bytes as a new receipt: the caller only calls it for a changed feed."""
        self.archive_dir(producer, dataset)  # ids checked before a sequence number is spent
        digest = hashlib.sha256(content).hexdigest()
        return self._archive(
            producer,
            dataset,
            digest,
            safe_file_name(file_name),
            lambda target: target.write_bytes(content),
            provenance,
            self.next_sequence(),
        )

    def _archive(self, producer, dataset, digest, name, write, provenance, sequence=None) -> ArchivedFile:
        folder = self.archive_dir(producer, dataset)
        receipts = folder / "receipts"
        if sequence is None:
            earlier = [r for r in self.archived(producer, dataset) if r.sha256 == digest]
            if earlier:
                return earlier[-1]
            sequence = self.next_sequence()
        receipt = receipts / f"{sequence:012d}.json"
        if receipt.exists():
            return ArchivedFile(**json.loads(receipt.read_text(encoding="utf-8")))
        stored = self._store_bytes(producer, dataset, digest, name, write, provenance)
        record = ArchivedFile(
            **{
                **asdict(stored),
                "file_name": name,
                "received_at": datetime.now(UTC).isoformat(timespec="microseconds"),
                "sequence": sequence,
                **{k: v for k, v in provenance.items() if v is not None},
            }
        )
        receipts.mkdir(parents=True, exist_ok=True)
        write_atomic(receipt, json.dumps(asdict(record), ensure_ascii=False, indent=1))
        return record

    def _store_bytes(self, producer, dataset, digest, name, write, provenance) -> ArchivedFile:
        folder = self.archive_dir(producer, dataset)
        folder.mkdir(parents=True, exist_ok=True)
        suffix = (
            "".join(Path(name).suffixes[-2:]).lower()
            if name.lower().endswith(".tar.gz")
            else Path(name).suffix
        )
        target = folder / f"{digest}{suffix.lower()}"
        sidecar = folder / f"{digest}.json"
        if sidecar.exists():
            return ArchivedFile(**json.loads(sidecar.read_text(encoding="utf-8")))
        tmp = folder / f".{digest}.part"
        write(tmp)
        os.replace(tmp, target)
        record = ArchivedFile(
            producer=producer,
            dataset=dataset,
            sha256=digest,
            path=str(target),
            file_name=name,
            received_at=datetime.now(UTC).isoformat(timespec="seconds"),
            **{k: v for k, v in provenance.items() if v is not None},
        )
        write_atomic(sidecar, json.dumps(asdict(record), ensure_ascii=False, indent=1))
        return record

    def archived(self, producer: str, dataset: str) -> list[ArchivedFile]:
        """Every receipt of one partition, in drop order (one per drop or changed harvest)."""
        return archived(self.root, producer, dataset)
