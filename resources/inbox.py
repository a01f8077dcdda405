"""Paths under ``TERRITOIRE_HOME`` and the inbox drop, without Dagster: `territoire drop` answers at once.

``resources/store.py`` (the Dagster resource) builds on these; nothing here may import a heavy library.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
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
    """Copy a file into the inbox (what ``territoire drop`` does); the copy appears atomically."""
    folder = inbox_dir(root, producer, dataset)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / safe_file_name(source.name)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".drop-", delete=False) as tmp:
        with source.open("rb") as handle:
            shutil.copyfileobj(handle, tmp)
    os.replace(tmp.name, target)
    return target
