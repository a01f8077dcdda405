"""Dates, datetimes and times are cut into their parts by Arrow's RE2 when every value is ASCII: the
parts, hence the verdicts, are those Python's ``re`` finds (quality/validate/extract.py).

An optional group that took no part reads NaN from ``re`` and "" from RE2; the parsers read both as
"" (``fillna("")``), so that is how they are compared."""

from __future__ import annotations

import _strptime
import random

import pandas as pd

from quality.validate.extract import extract_parts as _extract
from quality.validate.types import _ISO_DATETIME, _ISO_TIME

FORMATS = ["%Y-%m-%d", "%d/%m/%Y", "%d/%m/%y", "%Y%m%d", "%H:%M", "%d/%m/%Y %H:%M:%S", "%Y-%m-%dT%H:%M:%S%z"]
ALPHABET = "0123456789-/:T .,+Zx"


def _values(seed: int) -> list[str]:
    rng = random.Random(seed)
    base = ["2020-01-31", "31/01/2020", "2020-02-30", "2020-1-5", "2023-06-01T10:00:00Z", "10:00:00.5+02:00"]
    out = list(base)
    for _ in range(3000):
        v = list(rng.choice(base))
        for _ in range(rng.randint(0, 3)):
            v[rng.randrange(len(v))] = rng.choice(ALPHABET)
        out.append("".join(v)[: rng.randint(0, len(v))])
    return out


def _same(values: list[str], pattern: str) -> None:
    u = pd.Series(values, dtype="str")
    ours, theirs = _extract(u, pattern), u.str.extract(pattern)
    # A value that did not match has no parts at all, in both.
    assert (ours.isna().all(axis=1) == theirs.isna().all(axis=1)).all()
    pd.testing.assert_frame_equal(ours.fillna(""), theirs.fillna(""))


def test_strptime_parts_are_those_re_finds() -> None:
    values = _values(1)
    for fmt in FORMATS:
        regex = _strptime._TimeRE_cache.pattern(fmt)
        _same(values, rf"(?si)^(?:{regex})(?P<__rest>.*)$")


def test_iso_parts_are_those_re_finds() -> None:
    values = _values(2)
    _same(values, rf"^{_ISO_DATETIME}$")
    _same(values, rf"^{_ISO_TIME}$")


def test_other_characters_and_line_breaks_keep_re() -> None:
    # Arabic-Indic digits are \\d for re, not for RE2; re's $ matches before a final line break.
    _same(["٢٠٢٠-٠١-٠١", "2020-01-01"], rf"^{_ISO_DATETIME}$")
    _same(["2020-01-01T10:00:00\n", "2020-01-01T10:00:00"], rf"^{_ISO_DATETIME}$")
