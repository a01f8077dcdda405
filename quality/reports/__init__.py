"""Pages people read: the batch report a producer gets for each file, the territory's scoreboard.

This module holds what both pages share: the Jinja2 environment (autoescaped, because every value
shown comes from an untrusted file) and the French way of writing numbers, shares and dates. The
pages themselves are ``batch.write_batch_report`` and ``scoreboard.write_scoreboard``.
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import jinja2
import pandas as pd

from assets.publish import write_bytes_atomically

PARIS = ZoneInfo("Europe/Paris")
_MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
# French typography: a narrow no-break space groups thousands and a no-break space precedes « % ».
_THOUSANDS = "\u202f"
_NBSP = "\u00a0"


def fr_int(n: Any) -> str:
    """1234567 → « 1 234 567 »."""
    return f"{int(n):,}".replace(",", _THOUSANDS)


def fr_percent(share: float | None, digits: int = 1) -> str:
    """0.125 → « 12,5 % »; no share → « — »."""
    if share is None or pd.isna(share):
        return "—"
    text = f"{100 * share:.{digits}f}".replace(".", ",")
    if digits and text.endswith("," + "0" * digits):
        text = text[: -(digits + 1)]
    return text + _NBSP + "%"


def as_utc(value: Any) -> datetime | None:
    """A timestamp (ISO text, datetime, pandas Timestamp) as an aware UTC datetime; naive is UTC."""
    if value is None or value == "" or (not isinstance(value, str) and pd.isna(value)):
        return None
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.to_pydatetime()


def fr_date(value: Any, with_time: bool = True) -> str:
    """A timestamp in Paris time, written the French way: « 3 mars 2025 à 14 h 05 »."""
    moment = as_utc(value)
    if moment is None:
        return "—"
    local = moment.astimezone(PARIS)
    day = "1er" if local.day == 1 else str(local.day)
    text = f"{day} {_MONTHS[local.month - 1]} {local.year}"
    if with_time:
        text += f" à {local.hour} h {local.minute:02d}"
    return text


@cache
def environment() -> jinja2.Environment:
    """Templates are escaped whatever their extension: ``select_autoescape`` would miss ``.html.j2``."""
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
    write_bytes_atomically(data, path)
