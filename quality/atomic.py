"""Atomic file writes: a reader sees the old file or the new one, never a part.

The lowest layer's one way to replace a file: written beside its target under a hidden unique name,
flushed to disk, then moved into place with ``os.replace`` (atomic on POSIX within one file system)
and the directory synced so the rename itself survives a crash. The publication files, the DCAT
catalogue, the portal manifest and the HTML reports all go through here.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path


def write_bytes_atomically(data: bytes, path: Path) -> tuple[int, str]:
    """Write ``data`` to ``path`` so readers see the old or the new content, never a part.

    Returns ``(byte_size, sha256)`` of what was written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = temp_path(path)
    try:
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
        fsync_dir(path.parent)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
    return len(data), hashlib.sha256(data).hexdigest()


def temp_path(final: Path) -> Path:
    """A temporary name for ``final``, in its directory."""
    # Same directory as the target, so os.replace never crosses file systems; hidden and unique so a
    # directory listing or a concurrent writer never mistakes it for a publication.
    return final.with_name(f".{final.name}.{uuid.uuid4().hex}.tmp")


def fsync_file(path: Path) -> None:
    """Flush a written file's content to disk."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def fsync_dir(directory: Path) -> None:
    """Make the renames done in ``directory`` durable."""
    # Not every platform can open a directory.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def size_and_sha256(path: Path) -> tuple[int, str]:
    """``(byte_size, sha256)`` of a file, read in blocks."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb") as handle:
        for block in _blocks(handle):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def _blocks(handle, size: int = 1 << 20) -> Iterator[bytes]:
    while block := handle.read(size):
        yield block
