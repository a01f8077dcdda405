"""Numbers, shares and dates written the French way, for every page and command a person reads.

Standard library only: the CLI's quick commands (``territoire status``) use it without loading pandas.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre".split()
# French typography: a narrow no-break space groups thousands and a no-break space precedes « % ».
THOUSANDS = "\u202f"
NBSP = "\u00a0"


# Statuses as the database keeps them (English codes, stable for SQL and tests) and as people read them.
STATUS_LABELS_FR: dict[str, str] = {
    "loaded": "chargé",
    "refused": "refusé",
    "failed": "en échec",
    "published": "publié",
    "held": "retenu",
    "unchanged": "inchangé",
    "blocked": "bloqué",
    "approved": "approuvé",
}


def status_label(status: Any) -> str:
    """``refused`` → « refusé »; an unknown status stays as it is rather than disappear."""
    return STATUS_LABELS_FR.get(str(status), str(status))


def _missing(value: Any) -> bool:
    return value is None or value == "" or value != value  # NaN and NaT are not equal to themselves


def fr_int(n: Any) -> str:
    """1234567 → « 1 234 567 »."""
    return fr_ints([int(n)])[0]


def fr_ints(numbers: Iterable[int]) -> list[str]:
    """:func:`fr_int` of Python ints, in one pass: the row numbers of tens of thousands of errors, where
    a call per number took longer than the format itself."""
    return [f"{n:,}".replace(",", THOUSANDS) for n in numbers]


def fr_number(x: Any, digits: int = 2) -> str:
    """1234.5 → « 1 234,5 » (trailing zeros dropped)."""
    if _missing(x):
        return "—"
    text = f"{float(x):,.{digits}f}".rstrip("0").rstrip(".")
    return text.replace(",", THOUSANDS).replace(".", ",")


def fr_percent(share: float | None, digits: int = 1) -> str:
    """0.125 → « 12,5 % »; no share → « — »."""
    if _missing(share):
        return "—"
    text = f"{100 * share:.{digits}f}".replace(".", ",")
    if digits and text.endswith("," + "0" * digits):
        text = text[: -(digits + 1)]
    return text + NBSP + "%"


def as_utc(value: Any) -> datetime | None:
    """A timestamp (ISO text, datetime, pandas Timestamp) as an aware UTC datetime; naive is UTC."""
    if _missing(value):
        return None
    if isinstance(value, datetime):
        stamp = value
    elif isinstance(value, date):
        stamp = datetime(value.year, value.month, value.day)
    else:
        try:
            stamp = datetime.fromisoformat(str(value))
        except ValueError:
            import pandas as pd  # the rarer shapes pandas knows; only the pages need them

            stamp = pd.Timestamp(value).to_pydatetime()
    if hasattr(stamp, "to_pydatetime"):
        stamp = stamp.to_pydatetime()
    return stamp.replace(tzinfo=UTC) if stamp.tzinfo is None else stamp.astimezone(UTC)


def fr_date(value: Any, with_time: bool = True) -> str:
    """A timestamp in Paris time, written the French way: « 3 mars 2025 à 14 h 05 »."""
    moment = as_utc(value)
    if moment is None:
        return "—"
    local = moment.astimezone(PARIS)
    day = "1er" if local.day == 1 else str(local.day)
    text = f"{day} {MONTHS[local.month - 1]} {local.year}"
    if with_time:
        text += f" à {local.hour} h {local.minute:02d}"
    return text
