"""Table Schema ``pattern`` constraints, matched as the spec means them, on the engine that runs them.

A pattern constrains the *whole* value (XML Schema regular expressions are implicitly anchored), so
the reference meaning here is Python's ``re.fullmatch(pattern, value)`` — the engine frictionless and
Validata run (they anchor with ``^…$`` and ``match``, which differs only on a value ending in a newline
and on a top-level alternation, where ``fullmatch`` is the spec's reading).

Columns are matched with Arrow's RE2 (vectorised, no Python call per cell) after a translation that
keeps Python's meaning:

- an escaped character RE2 does not know (``\\‘``, ``\\é``: schemas escape punctuation that needs no
  escape) becomes the literal character;
- ``\\d``, ``\\w``, ``\\s`` and their negations are Unicode in Python and ASCII in RE2: they become
  the Unicode classes Python uses (``\\p{Nd}``, letters/numbers/underscore, Python's whitespace set);
- ``{,n}`` (Python: 0 to n) becomes ``{0,n}`` (RE2 would read it literally); ``\\Z`` becomes ``\\z``.

A pattern RE2 cannot take even so (look-around, back-references, ``\\b``, atomic groups, possessive
quantifiers, a negated Unicode class inside a set, a repeat count above RE2's limit of 1000) is
matched with Python's ``re`` over the column's distinct values: slower, never wrong.
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

# Python's str.isspace() characters: what ``\s`` matches in a str pattern.
_PY_SPACE = (
    r"\t\n\x{0b}\f\r\x{1c}-\x{1f} \x{85}\x{a0}\x{1680}\x{2000}-\x{200a}"
    r"\x{2028}\x{2029}\x{202f}\x{205f}\x{3000}"
)
_PY_WORD = r"\p{L}\p{N}_"
# Inside a set, the class body; outside, the whole class.
_IN_SET = {"d": r"\p{Nd}", "w": _PY_WORD, "s": _PY_SPACE}
_OUTSIDE = {
    "d": r"\p{Nd}",
    "D": r"\P{Nd}",
    "w": f"[{_PY_WORD}]",
    "W": f"[^{_PY_WORD}]",
    "s": f"[{_PY_SPACE}]",
    "S": f"[^{_PY_SPACE}]",
}
# Escapes both engines read alike.
_SHARED_ESCAPES = set("tnrfvaA")
# Constructs RE2 does not implement at all.
_PYTHON_ONLY = re.compile(r"\(\?[=!<>]|\(\?P=|\(\?\(|[*+?}][+]|\\[1-9bBG]")


class UntranslatablePattern(ValueError):
    """A pattern only Python's ``re`` can run."""


def to_re2(pattern: str) -> str:
    """``pattern`` (Python syntax) as an RE2 expression of the same meaning, anchored to the whole value.

    Raises ``UntranslatablePattern`` when RE2 has no equivalent."""
    if _PYTHON_ONLY.search(pattern):
        raise UntranslatablePattern(pattern)
    out: list[str] = []
    in_set = False
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            nxt = pattern[i + 1]
            i += 2
            if nxt in "dwsDWS":
                if in_set and nxt.isupper():
                    raise UntranslatablePattern(pattern)
                out.append(_IN_SET[nxt] if in_set else _OUTSIDE[nxt])
            elif nxt == "Z":
                out.append(r"\z")
            elif nxt == "x" or nxt == "u" or nxt == "U":
                out.append(_hex_escape(pattern, i, nxt))
                i += {"x": 2, "u": 4, "U": 8}[nxt]
            elif nxt == "0" or (nxt.isascii() and nxt.isalpha() and nxt not in _SHARED_ESCAPES):
                raise UntranslatablePattern(pattern)
            elif nxt.isascii() and not nxt.isalnum():
                out.append("\\" + nxt)
            elif nxt in _SHARED_ESCAPES:
                out.append("\\" + nxt)
            else:
                # Python reads an escaped non-ASCII character as itself; RE2 refuses the escape.
                out.append(nxt)
            continue
        if char == "[" and not in_set:
            in_set = True
            out.append(char)
            i += 1
            # A ']' right after '[' or '[^' is a literal in both engines.
            for lead in ("^", "]"):
                if i < len(pattern) and pattern[i] == lead:
                    out.append(lead)
                    i += 1
            continue
        if char == "]" and in_set:
            in_set = False
        elif char == "{" and not in_set:
            match = re.match(r"\{,(\d+)\}", pattern[i:])
            if match:
                out.append("{0," + match.group(1) + "}")
                i += match.end()
                continue
        out.append(char)
        i += 1
    return "^(?:" + "".join(out) + r")\z"


def _hex_escape(pattern: str, start: int, kind: str) -> str:
    width = {"x": 2, "u": 4, "U": 8}[kind]
    digits = pattern[start : start + width]
    if len(digits) != width or not re.fullmatch(r"[0-9A-Fa-f]+", digits):
        raise UntranslatablePattern(pattern)
    return r"\x{" + digits + "}"


@lru_cache(maxsize=512)
def re2_form(pattern: str) -> str | None:
    """The RE2 translation of ``pattern`` when Arrow compiles it, else None (Python's ``re`` runs it)."""
    try:
        translated = to_re2(pattern)
        pc.match_substring_regex(pa.array([""], pa.string()), translated)
    except (UntranslatablePattern, pa.ArrowInvalid):
        return None
    return translated


@lru_cache(maxsize=512)
def python_form(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def pattern_matches(values: pd.Series, pattern: str) -> np.ndarray:
    """For each value, whether it matches ``pattern`` as a whole (missing values do not match)."""
    if len(values) == 0:
        return np.zeros(0, bool)
    translated = re2_form(pattern)
    if translated is not None:
        array = pa.array(values.astype(object).where(values.notna(), None).tolist(), pa.string())
        matched = pc.match_substring_regex(array, translated)
        return matched.fill_null(False).to_numpy(zero_copy_only=False).astype(bool)
    compiled = python_form(pattern)
    return np.fromiter(
        (isinstance(v, str) and compiled.fullmatch(v) is not None for v in values), bool, len(values)
    )
