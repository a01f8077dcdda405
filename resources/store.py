"""The file side of the platform under ``TERRITOIRE_HOME``: inbox, content-addressed archive, reports,
publication folder.

The archive keeps the bytes exactly as received, named by their sha256, with a small JSON sidecar
(original name, time received, where it came from). A file seen before is recognised by its hash and
not processed again. Paths are only ever built from ids the registry knows and from names reduced to a
safe basename, so nothing that arrives can escape its folder.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from resources.inbox import SAFE_ID, default_home, drop_file, inbox_dir, safe_file_name, safe_id


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

    @property
    def received(self) -> datetime:
        return datetime.fromisoformat(self.received_at)


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
        return self.root / "archive" / safe_id(producer, "producer") / safe_id(dataset, "dataset")

    def drop(self, producer: str, dataset: str, source: Path) -> Path:
        """Copy a file into the inbox (what ``territoire drop`` does); the copy appears atomically."""
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
        return target

    def inbox_files(self, producer: str, dataset: str) -> list[Path]:
        """Files waiting in one inbox folder, oldest first; hidden and partial files are skipped."""
        folder = self.inbox(producer, dataset)
        # A symlink planted in an inbox (or as an inbox folder) would make the platform read and
        # archive a file of its own machine: only real files and folders count.
        if not folder.is_dir() or _has_symlink(folder, self.root):
            return []
        files = [
            p for p in folder.iterdir() if p.is_file() and not p.is_symlink() and not p.name.startswith(".")
        ]
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

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
        **provenance: str | None,
    ) -> ArchivedFile:
        """Copy ``path`` into the archive under its sha256 (idempotent) and return its record."""
        digest = sha256_file(path)
        name = safe_file_name(file_name or path.name)
        return self._archive(
            producer, dataset, digest, name, lambda target: shutil.copyfile(path, target), provenance
        )

    def archive_bytes(
        self, producer: str, dataset: str, content: bytes, file_name: str, **provenance: str | None
    ) -> ArchivedFile:
        digest = hashlib.sha256(content).hexdigest()
        return self._archive(
            producer,
            dataset,
            digest,
            safe_file_name(file_name),
            lambda target: target.write_bytes(content),
            provenance,
        )

    def _archive(self, producer, dataset, digest, name, write, provenance) -> ArchivedFile:
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
        _write_atomic(sidecar, json.dumps(asdict(record), ensure_ascii=False, indent=1))
        return record

    def archived(self, producer: str, dataset: str) -> list[ArchivedFile]:
        """Everything archived for one partition, oldest first."""
        folder = self.archive_dir(producer, dataset)
        if not folder.is_dir():
            return []
        records = [ArchivedFile(**json.loads(p.read_text(encoding="utf-8"))) for p in folder.glob("*.json")]
        return sorted(records, key=lambda r: (r.received_at, r.sha256))


def _has_symlink(path: Path, root: Path) -> bool:
    """Whether ``path`` or one of its parents below ``root`` is a symbolic link."""
    while path != root and path != path.parent:
        if path.is_symlink():
            return True
        path = path.parent
    return False


def _write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
