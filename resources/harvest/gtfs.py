"""GTFS feeds: a zip at a URL. Fetch only; reading is ``assets/read/gtfs.py``.

Registry entry: ``{kind: gtfs, url, file_name?}``. The archive keeps the zip as received; the only
check here is that it is a zip at all, so an HTML error page served with 200 is refused at the door.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Mapping
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any

from resources.harvest.errors import HarvestError
from resources.harvest.harvested import Harvested
from resources.harvest.http import fetch
from resources.harvest.policy import HttpPolicy


def harvest_gtfs(
    entry: Mapping[str, Any], previous: Mapping[str, Any] | None, policy: HttpPolicy
) -> Harvested:
    harvested = fetch(entry["url"], policy=policy, previous=previous, file_name=entry.get("file_name"))
    if harvested.not_modified and not harvested.content:
        return harvested
    if not zipfile.is_zipfile(io.BytesIO(harvested.content)):
        start = harvested.content[:60].decode("utf-8", "replace")
        raise HarvestError(entry["url"], f"le flux GTFS reçu n'est pas une archive zip (début : {start!r})")
    name = harvested.file_name
    if PurePosixPath(name).suffix.lower() != ".zip":
        name = f"{PurePosixPath(name).stem or 'gtfs'}.zip"
    return replace(harvested, file_name=name, media_type="application/zip")
