"""Where the registry's YAML files are: a territory's own folder, or the shipped one in ``pipelines/``."""

from __future__ import annotations

import os
from pathlib import Path

# The shipped registry lives with the code location (pipelines/), where the data team edits it.
REGISTRY_DIR = Path(__file__).resolve().parents[2] / "pipelines"


def registry_dir() -> Path:
    """The registry folder: ``TERRITOIRE_REGISTRY`` when set (a territory's own), else the shipped one."""
    configured = os.environ.get("TERRITOIRE_REGISTRY")
    return Path(configured).expanduser().resolve() if configured else REGISTRY_DIR
