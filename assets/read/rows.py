"""Rows of a table as read, before they become a frame: finding the header, naming the columns,
dropping blank and repeated-header rows, and wording the warnings about ragged rows.

The same rules apply to a delimited file and to a sheet, so both readers call these.
"""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pandas as pd

from assets.read.limits import HEADER_SCAN_RECORDS


def header_index(rows: list[list[str]]) -> int | None:
    """Index of the header among the first rows: the first whose non-empty cells reach half the modal
    width (title lines above a table have one or two cells)."""
    rows = rows[:HEADER_SCAN_RECORDS]
    widths = [filled_width(r) for r in rows]
    nonblank = [w for w in widths if w]
    if not nonblank:
        return None
    mode = max(Counter(nonblank).items(), key=lambda kv: (kv[1], kv[0]))[0]
    need = max(1, math.ceil(mode / 2))
    for i, row in enumerate(rows):
        if sum(1 for c in row if c.strip()) >= need:
            return i
    return next(i for i, w in enumerate(widths) if w)


def filled_width(row: list[str]) -> int:
    """Number of cells up to the last non-empty one."""
    for i in range(len(row) - 1, -1, -1):
        if row[i].strip():
            return i + 1
    return 0


def unique_headers(headers: list[str]) -> list[str]:
    """Headers stripped and made unique as pandas does (``a``, ``a.1``, ``a.2``); an empty header
    becomes ``colonne_N`` (its 1-based position) so that every column can be named in a message."""
    names = [h.strip() or f"colonne_{i + 1}" for i, h in enumerate(headers)]
    seen: Counter[str] = Counter()
    taken = set(names)
    out = []
    for name in names:
        if seen[name]:
            candidate = f"{name}.{seen[name]}"
            while candidate in taken:
                seen[name] += 1
                candidate = f"{name}.{seen[name]}"
            taken.add(candidate)
            seen[name] += 1
            out.append(candidate)
        else:
            seen[name] += 1
            out.append(name)
    return out


def all_empty(frame: pd.DataFrame) -> np.ndarray:
    """Mask of the rows whose every cell is empty (a line made only of separators is blank)."""
    mask = np.ones(len(frame), dtype=bool)
    for column in frame.columns:
        mask &= (frame[column] == "").to_numpy()
        if not mask.any():
            break
    return mask


def drop_repeated_headers(frame: pd.DataFrame, header: list[str]) -> tuple[pd.DataFrame, list[int]]:
    """Rows whose cells repeat the header exactly, cell for cell, are not data."""
    if frame.empty:
        return frame, []
    mask = np.ones(len(frame), dtype=bool)
    for column, name in zip(frame.columns, header, strict=False):
        mask &= (frame[column] == name).to_numpy()
        if not mask.any():
            return frame, []
    return frame.loc[~mask], [int(i) for i in frame.index[mask]]


def ragged_warnings(ragged: dict[str, list[int]], width: int) -> list[str]:
    """French warnings for the rows shorter (``short``) or longer (``long``) than the header."""
    out = []
    if ragged["short"]:
        out.append(
            f"{len(ragged['short'])} ligne(s) ont moins de {width} cellules "
            f"(ligne(s) {line_list(ragged['short'])}) : "
            "les cellules manquantes sont laissées vides."
        )
    if ragged["long"]:
        out.append(
            f"{len(ragged['long'])} ligne(s) ont plus de {width} cellules "
            f"(ligne(s) {line_list(ragged['long'])}) : "
            "les valeurs en trop sont conservées dans des colonnes « colonne_N »."
        )
    return out


def line_list(lines: list[int], shown: int = 10) -> str:
    """The first ``shown`` line numbers, and how many more: a warning stays readable."""
    text = ", ".join(str(n) for n in lines[:shown])
    return text + (f" et {len(lines) - shown} autre(s)" if len(lines) > shown else "")
