"""Pages people read: the batch report a producer gets for each file, the territory's scoreboard.

This module holds what both pages share: the Jinja2 environment (autoescaped, because every value
shown comes from an untrusted file) and the French way of writing numbers, shares and dates. The
pages themselves are ``batch.write_batch_report`` and ``scoreboard.write_scoreboard``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from quality.french import PARIS, as_utc, fr_date, fr_int, fr_number, fr_percent

if TYPE_CHECKING:
    import jinja2

__all__ = [
    "PARIS",
    "as_utc",
    "environment",
    "fr_date",
    "fr_int",
    "fr_number",
    "fr_percent",
    "write_atomically",
]


@cache
def environment() -> jinja2.Environment:
    """Templates are escaped whatever their extension: ``select_autoescape`` would miss ``.html.j2``."""
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(fr_int=fr_int, fr_percent=fr_percent, fr_date=fr_date)
    return env


def write_atomically(path: Path, data: bytes) -> None:
    """Whole file or previous file: a reader (or a browser refresh) never sees half a report."""
    from quality.atomic import write_bytes_atomically

    write_bytes_atomically(data, path)
