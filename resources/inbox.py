"""Paths under ``TERRITOIRE_HOME`` and the inbox drop, without Dagster: `territoire drop` answers at once.

``resources/store.py`` (the Dagster resource) builds on these; nothing here may import a heavy library.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SAFE_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
_UNSAFE_NAME_CHARS = re.compile(r"[^\w.\- ]+", re.UNICODE)


def default_home() -> Path:
    return Path(os.environ.get("TERRITOIRE_HOME", "var")).resolve()


def safe_id(value: str, what: str) -> str:
    """Refuse anything but a registry-style id before it becomes a path component."""
    if not isinstance(value, str) or not SAFE_ID.fullmatch(value):
        raise ValueError(f"invalid {what} id {value!r}: only lower-case letters, digits and '-' are allowed")
    return value


def safe_file_name(name: str) -> str:
    """A basename that cannot climb out of a folder, start an option, or hide a NUL byte."""
    base = name.replace("\x00", "").replace("\\", "/").rsplit("/", 1)[-1]
    base = _UNSAFE_NAME_CHARS.sub("_", base).strip(" .")
    base = base.lstrip("-") or "fichier"
    return base[:200]


def inbox_dir(root: Path, producer: str, dataset: str) -> Path:
    return root / "inbox" / safe_id(producer, "producer") / safe_id(dataset, "dataset")


def drop_file(root: Path, producer: str, dataset: str, source: Path) -> Path:
    """Copy a file into the inbox (what ``territoire drop`` does); the copy appears atomically.

    The drop takes its sequence number first (in a hidden sidecar), so a sensor that sees the file
    already finds its place in the order of drops: files apply in the order they were dropped, not
    by the second they were archived.
    """
    folder = inbox_dir(root, producer, dataset)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_file_name(source.name)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".drop-", delete=False) as tmp:
        with source.open("rb") as handle:
            shutil.copyfileobj(handle, tmp)
    write_atomic(sequence_sidecar(target), str(next_sequence(root)))
    os.replace(tmp.name, target)
    return target


def next_sequence(root: Path) -> int:
    """The next number of the home's drop sequence (monotonic, safe across processes)."""
    with _sequence_lock(root):
        return _take(root, 1)


def number_unseen_files(root: Path) -> None:
    """Give a drop sequence number to every inbox file of the home that has none yet (copied in by
    other means than ``territoire drop``: a network share, the demo), all at once, in the order of
    their modification times.

    Home-wide and under the sequence lock, so the numbers do not depend on which inbox a process
    happens to list first: a sensor, a run and the workers of a distributed run number the same
    files the same way.
    """
    with _sequence_lock(root):
        unseen = sorted(
            (path.stat().st_mtime_ns, str(path.relative_to(root)), path)
            for path in _inbox_files(root)
            if drop_sequence(path) is None
        )
        first = _take(root, len(unseen))
        for offset, (_, _, path) in enumerate(unseen):
            write_atomic(sequence_sidecar(path), str(first + offset))


def _inbox_files(root: Path) -> list[Path]:
    """Every visible regular file of ``root/inbox/<producer>/<dataset>/``; symlinks and unsafe names
    are left out, as the store's listing leaves them out."""
    inbox = root / "inbox"
    if not inbox.is_dir() or inbox.is_symlink():
        return []
    return [
        path
        for producer in inbox.iterdir()
        if producer.is_dir() and not producer.is_symlink() and SAFE_ID.fullmatch(producer.name)
        for dataset in producer.iterdir()
        if dataset.is_dir() and not dataset.is_symlink() and SAFE_ID.fullmatch(dataset.name)
        for path in dataset.iterdir()
        if path.is_file() and not path.is_symlink() and not path.name.startswith(".")
    ]


@contextmanager
def _sequence_lock(root: Path) -> Iterator[None]:
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".drop-sequence.lock").open("a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _take(root: Path, count: int) -> int:
    """Reserve ``count`` numbers of the sequence (the caller holds the lock); the first of them."""
    counter = root / ".drop-sequence"
    current = int(counter.read_text(encoding="ascii") or 0) if counter.exists() else 0
    if count:
        write_atomic(counter, str(current + count))
    return current + 1


def sequence_sidecar(path: Path) -> Path:
    """Where an inbox file's drop sequence number is kept (hidden, so never read as a drop)."""
    return path.with_name(f".{path.name}.sequence")


def drop_sequence(path: Path) -> int | None:
    """The drop sequence number of an inbox file, None before the platform has seen it."""
    try:
        return int(sequence_sidecar(path).read_text(encoding="ascii"))
    except (FileNotFoundError, ValueError):
        return None


def inbox_files(root: Path, producer: str, dataset: str) -> list[Path]:
    """Files waiting in one inbox folder, in drop order; hidden and partial files are skipped.

    A file copied into the folder by other means than ``territoire drop`` (a network share) gets
    its sequence number the first time it is seen, with every such file of the home, in the order
    of their modification times (``number_unseen_files``).
    """
    folder = inbox_dir(root, producer, dataset)
    # A symlink planted in an inbox (or as an inbox folder) would make the platform read and
    # archive a file of its own machine: only real files and folders count.
    if not folder.is_dir() or _has_symlink(folder, root):
        return []
    files = [p for p in folder.iterdir() if p.is_file() and not p.is_symlink() and not p.name.startswith(".")]
    if any(drop_sequence(path) is None for path in files):
        number_unseen_files(root)
    return sorted(files, key=lambda p: (drop_sequence(p) or 0, p.name))


def _has_symlink(path: Path, root: Path) -> bool:
    """Whether ``path`` or one of its parents below ``root`` is a symbolic link."""
    while path != root and path != path.parent:
        if path.is_symlink():
            return True
        path = path.parent
    return False


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.part")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
