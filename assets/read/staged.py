"""What reading yields: a staged table (whole or streamed), or a refusal saying why the file is not one.

Every reader (delimited text, spreadsheets, geographic files, GTFS feeds) returns these types, so they
live apart from any reader: the readers import them, and none has to import another to name its result.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


class RefusedFile(Exception):
    """The file is not a table we can read; ``reason`` is a short code, ``str()`` a French sentence."""

    def __init__(self, path: Path | str, reason: str, detail: str) -> None:
        self.path = Path(path)
        self.reason = reason
        self.detail = detail
        super().__init__(f"Le fichier « {self.path.name} » est refusé : {detail}.")


@dataclass
class StagedTable:
    """A read file: the staged frame and how it was read (reported to the producer)."""

    frame: pd.DataFrame
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    header_line: int | None = None
    sheet: str | None = None
    blank_lines_dropped: int = 0
    warnings: list[str] = field(default_factory=list)
    geometries_repaired: int = 0


@dataclass
class StreamedTable:
    """A table read chunk by chunk; metadata is known before the first chunk, counters grow as chunks
    are read. ``chunks()`` can be consumed once."""

    path: Path
    format: str
    encoding: str | None
    delimiter: str | None
    header_line: int | None
    sheet: str | None
    columns: list[str]
    warnings: list[str]
    blank_lines_dropped: int = 0
    rows_read: int = 0
    _source: Iterator[pd.DataFrame] | None = None

    def chunks(self) -> Iterator[pd.DataFrame]:
        if self._source is None:
            raise RuntimeError("chunks() ne peut être lu qu'une fois")
        source, self._source = self._source, None
        yield from source

    def materialise(self) -> StreamedTable:
        """Every chunk read now, so that what reading raises is raised here; ``chunks()`` then
        hands out the frames already read."""
        self._source = iter(list(self.chunks()))
        return self
