"""A demo territory: the files the 22 communes, the metropole and the operators would drop in the inbox.

Each dataset module builds realistic content from the real schema and writes it with the quirks real
producers have (``quirks.py``); about 2-5 % of rows are seeded invalid so the quality reports have
something to say. Output is a pure function of the producers and the seed: same bytes on every run.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.demo import (
    arbres,
    dae,
    deliberations,
    equipements,
    irve,
    prenoms,
    stationnement_cyclable,
    subventions,
)

# Dataset modules in generation order; each exposes generate(inbox, producers, *, seed) -> list[Path].
GENERATORS = [subventions, equipements, deliberations, prenoms, stationnement_cyclable, irve, dae, arbres]


def generate_demo(inbox: Path, producers: list[dict[str, Any]], *, seed: int = 37) -> list[Path]:
    """Write every demo drop file under ``inbox/<producer_id>/<dataset>/<file>`` and return their paths."""
    inbox = Path(inbox)
    paths: list[Path] = []
    for module in GENERATORS:
        paths += module.generate(inbox, producers, seed=seed)
    return paths
