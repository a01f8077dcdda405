"""Every ``pattern`` of every shipped schema runs on Arrow's RE2 (as the validator runs it) with the
meaning Python's ``re.fullmatch`` gives it, over the schema's own examples and generated strings."""

from __future__ import annotations

import json
import re
from pathlib import Path

import hypothesis.strategies as st
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

from assets.harmonise.normalise.dates import expects_period
from quality.patterns import UntranslatablePattern, pattern_matches, re2_form, to_re2

SCHEMAS = Path(__file__).resolve().parents[1] / "quality" / "schemas"


def _shipped_patterns() -> list[tuple[str, str, str, list[str]]]:
    """(schema file, field, pattern, the field's examples) for every pattern of every shipped version."""
    found = []
    for path in sorted(SCHEMAS.rglob("*.json")):
        try:
            descriptor = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if not isinstance(descriptor, dict):
            continue
        for field in descriptor.get("fields", []):
            pattern = (field.get("constraints") or {}).get("pattern")
            if pattern:
                listed = field.get("examples") or []
                examples = [field.get("example")] + (listed if isinstance(listed, list) else [listed])
                examples = [str(e) for e in examples if e is not None and not isinstance(e, dict | list)]
                found.append((str(path.relative_to(SCHEMAS)), field["name"], pattern, examples))
    return found


PATTERNS = _shipped_patterns()
# Strings that tell the engines apart when a translation is wrong: Unicode digits and spaces, a
# trailing newline, typographic quotes, accents, empty, very long.
TRICKY = [
    "",
    " ",
    "\n",
    "a\n",
    "٣",
    "12\u00a034",
    "l’église",
    "‘x’",
    "Évry",
    "_",
    "2018-01-01_2018-03-31",
    "2018-01-01/2018-03-31",
    "x" * 300,
    "0" * 14,
    "\t",
    "a|b",
    "ǅ",
    "Ⅻ",
    "½",
]


def _mutations(value: str) -> list[str]:
    return [value, value + "\n", " " + value, value + "x", value[:-1], value.upper(), value + "\u00a0"]


def _agree(pattern: str, samples: list[str]) -> None:
    reference = [re.fullmatch(pattern, s) is not None for s in samples]
    engine = pattern_matches(pd.Series(samples, dtype="str"), pattern).tolist()
    disagree = [(s, r) for s, r, e in zip(samples, reference, engine, strict=True) if r != e]
    assert not disagree, f"{pattern!r}: RE2 and Python disagree on {disagree[:5]}"


def test_the_shipped_schemas_have_patterns():
    assert len(PATTERNS) > 50


@pytest.mark.parametrize(("where", "field", "pattern", "examples"), PATTERNS, ids=lambda v: str(v)[:40])
def test_every_shipped_pattern_compiles_and_agrees(where, field, pattern, examples):
    re.compile(pattern)
    # Every shipped pattern is translated for RE2: the Python fallback is for patterns we do not ship.
    assert re2_form(pattern) is not None, f"{where} {field}: RE2 cannot run {pattern!r}"
    samples = [m for e in examples for m in _mutations(e)] + TRICKY
    _agree(pattern, samples)


@pytest.mark.parametrize(("where", "field", "pattern", "examples"), PATTERNS, ids=lambda v: str(v)[:40])
@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_generated_values_agree(where, field, pattern, examples, data):
    matching = data.draw(st.lists(st.from_regex(pattern, fullmatch=True), min_size=1, max_size=5))
    anything = data.draw(st.lists(st.text(max_size=12), max_size=5))
    _agree(pattern, [m for v in matching for m in _mutations(v)] + anything)


def test_the_bal_street_name_pattern_runs_on_re2():
    """BAL ``voie_nom`` escapes a typographic quote (``\\‘``), which RE2 refuses as written."""
    bal = [p for w, f, p, _ in PATTERNS if w.startswith("etalab-bal") and f == "voie_nom"]
    assert bal and all("\\‘" in p for p in bal)
    values = pd.Series(["Rue de l‘Église", "Rue de l’Église", "Rue #3", "Allée (des) Tilleuls"], dtype="str")
    assert pattern_matches(values, bal[0]).tolist() == [True, True, False, True]


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("a|b", "ab", False),  # whole value: '^a|b$' would take 'ab'
        (r"^\d{5}$", "12345\n", False),  # '$' before a final newline is not the end of the value
        (r"\d{2}", "٣٤", True),  # Python's \d is Unicode
        (r"x{,2}", "xx", True),  # Python's {,n}
        (r"(?<=a)b", "b", False),  # look-behind: Python fallback
        (r"(a)\1", "aa", True),  # back-reference: Python fallback
    ],
)
def test_semantics_beyond_the_shipped_patterns(pattern, value, expected):
    assert pattern_matches(pd.Series([value]), pattern).tolist() == [expected]


def test_untranslatable_patterns_fall_back_to_python():
    for pattern in (r"(?<=a)b", r"(a)\1", r"\bx", r"a++", r"[\D]"):
        with pytest.raises(UntranslatablePattern):
            to_re2(pattern)
        assert re2_form(pattern) is None


def test_the_period_normaliser_fires_only_on_period_patterns():
    periods = [p for _, f, p, _ in PATTERNS if expects_period(p)]
    fields = {f for _, f, p, _ in PATTERNS if expects_period(p)}
    assert periods and fields == {"datesPeriodeVersement"}
    # Free text that happens to allow '/' but not '_' is not a period.
    assert not expects_period(r"[A-Za-z0-9 /\-]+")
