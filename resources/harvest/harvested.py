"""What every source kind hands back: the bytes as received, and how they arrived."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Harvested:
    """One harvested file: the bytes as received, and the validators for the next conditional request."""

    content: bytes
    file_name: str
    source_url: str
    etag: str | None
    last_modified: str | None
    not_modified: bool
    sha256: str
    media_type: str | None
    # What the portal said about the dataset (title, licence, modified, resource id...), for lineage.
    metadata: dict[str, Any] = field(default_factory=dict)


def previous_sha(previous: Mapping[str, Any] | None) -> str | None:
    return (previous or {}).get("sha256") or None
