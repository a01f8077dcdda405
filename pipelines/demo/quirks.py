"""Shared ways producers write messy files, and the identifiers they put in them.

Every writer is deterministic: same rows in, same bytes out (no timestamps, fixed zip entry dates),
so a demo territory generated twice is archived once (the archive is content-addressed).

Identifiers are computed, not drawn at random, because the validator checks them: a SIREN/SIRET is
valid when its digits pass the Luhn checksum (INSEE rule), so a valid one is a random prefix plus the
one check digit that makes the sum a multiple of 10.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

# A fixed date for everything a file format insists on dating (zip entries, Office properties).
FIXED_ZIP_DATE = (2024, 1, 1, 0, 0, 0)
FIXED_OFFICE_DATE = "2024-01-01T00:00:00Z"


# --- identifiers -----------------------------------------------------------------------------------------
def luhn_ok(digits: str) -> bool:
    """True when ``digits`` passes the Luhn checksum (the SIREN/SIRET rule)."""
    if not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def luhn_complete(prefix: str) -> str:
    """``prefix`` followed by the check digit that makes it pass Luhn."""
    for digit in "0123456789":
        if luhn_ok(prefix + digit):
            return prefix + digit
    raise AssertionError("unreachable: one digit always completes a Luhn sum")


def siren(rng: random.Random) -> str:
    """A Luhn-valid SIREN of a private body (associations and companies start with 3-9)."""
    return luhn_complete(str(rng.randint(3, 9)) + "".join(str(rng.randint(0, 9)) for _ in range(7)))


def siret(siren_: str, rng: random.Random | None = None, establishment: int | None = None) -> str:
    """A Luhn-valid SIRET of ``siren_``: a 4-digit establishment number, then the check digit."""
    if establishment is None:
        establishment = rng.choice([1, 1, 1, 2, 3, 12, 25]) if rng else 1
    return luhn_complete(f"{siren_}{establishment:04d}")


def broken_luhn(identifier: str) -> str:
    """The same identifier with its last digit changed so that Luhn fails (a typo a person makes)."""
    last = int(identifier[-1])
    return identifier[:-1] + str((last + 1) % 10)


def rna(rng: random.Random) -> str:
    """A number of the Répertoire national des associations: W + 9 digits (37 for Indre-et-Loire)."""
    return "W37" + "".join(str(rng.randint(0, 9)) for _ in range(7))


# --- how numbers and dates get written -------------------------------------------------------------------
def french_number(value: float, *, decimals: int = 2, thousands: str = " ") -> str:
    """``40000`` → ``40 000,00`` (French office software; ``thousands`` may be a no-break space)."""
    text = f"{value:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", thousands)


def float_text(value: float | int | str) -> str:
    """What a number becomes after a round trip through a float column: ``21860194600000.0``."""
    return repr(float(value))


def date_text(iso: str, style: str) -> str:
    """An ISO date string rewritten as a producer would (string surgery, so 2020-02-31 survives)."""
    if not iso or style == "iso":
        return iso
    year, month, day = iso[0:4], iso[5:7], iso[8:10]
    if style == "fr":
        return f"{day}/{month}/{year}"
    if style == "ymd-slash":
        return f"{year}/{month}/{day}"
    raise ValueError(f"unknown date style {style!r}")


# --- writers ---------------------------------------------------------------------------------------------
def write_csv(
    path: Path,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    encoding: str = "utf-8",
    delimiter: str = ";",
    title_lines: Sequence[str] = (),
    line_end: str = "\r\n",
    trailing_blank_lines: int = 0,
) -> Path:
    """A delimited text file as office software exports it: optional title lines above the header,
    CRLF endings, quotes only where needed. ``encoding`` may be ``cp1252`` (then every character must
    exist in cp1252: an error here is a bug in the generator, not a quirk) or ``utf-8-sig`` (BOM)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=line_end, quoting=csv.QUOTE_MINIMAL)
    for title in title_lines:
        writer.writerow([title] if title else [])
    writer.writerow(header)
    writer.writerows(rows)
    for _ in range(trailing_blank_lines):
        writer.writerow([""] * len(header))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buffer.getvalue().encode(encoding, errors="strict"))
    return path


def write_xlsx(path: Path, sheets: Sequence[tuple[str, Sequence[Sequence[Any]], dict[int, str]]]) -> Path:
    """A workbook of ``(sheet name, rows of Python values, {column index: Excel number format})``.

    Values keep their Python type, so Excel holds real numbers (a SIRET typed as a number) and real
    dates; the number formats make them look as the agent saw them."""
    import openpyxl

    workbook = openpyxl.Workbook()
    workbook.remove(workbook.active)
    for name, rows, formats in sheets:
        sheet = workbook.create_sheet(name)
        for row in rows:
            sheet.append(list(row))
        for column, number_format in formats.items():
            for (cell,) in sheet.iter_rows(min_col=column + 1, max_col=column + 1):
                if not isinstance(cell.value, str):
                    cell.number_format = number_format
    buffer = io.BytesIO()
    workbook.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(frozen_zip(buffer.getvalue()))
    return path


def frozen_zip(data: bytes) -> bytes:
    """Re-pack an Office zip with fixed entry dates and a fixed modification date in its properties:
    openpyxl stamps both with the current time, which would make every run a new file."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*",
                    rb"\g<1>" + FIXED_OFFICE_DATE.encode(),
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=FIXED_ZIP_DATE)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            target.writestr(entry, content)
    return out.getvalue()


def write_geojson(path: Path, features: list[dict[str, Any]], *, name: str | None = None) -> Path:
    """A GeoJSON FeatureCollection in WGS84 (RFC 7946), as GIS software exports it."""
    collection: dict[str, Any] = {"type": "FeatureCollection"}
    if name:
        collection["name"] = name
    collection["features"] = features
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(collection, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def producer_rng(seed: int, dataset: str, producer_id: str) -> random.Random:
    """One generator per (dataset, producer): adding a producer or a dataset leaves the others' files
    unchanged. String seeds are hashed with SHA-512 by ``random``, so this is stable across runs."""
    return random.Random(f"{seed}:{dataset}:{producer_id}")
