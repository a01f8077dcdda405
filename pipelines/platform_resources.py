"""The resources the assets ask for, on one home: shared by the runner and its helper process."""

from __future__ import annotations

from pathlib import Path

from resources.harvest.resource import Harvester
from resources.store import Store
from resources.warehouse import Warehouse


def platform_resources(home: Path) -> dict:
    """The resources the assets ask for, on one home (and the warehouse it configures)."""
    return {
        "store": Store(home=str(home)),
        "warehouse": Warehouse(home=str(home)),
        "harvester": Harvester.from_environment(),
    }
