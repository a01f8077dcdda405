"""Near matches between a file's headers and a schema's labels, taken only when they are unambiguous.

The exact tiers of :mod:`assets.harmonise.headers` already ignore case, accents, spaces and punctuation. What
agents still write differently, seen in real files: a plural or « (s) » (« Prénoms » for « Prénom »),
small words left out (« Date de décision » for « Date de la décision »), the label's last word left
out (« Date de la convention » for « Date de la convention de subvention »), the words in another
order (``PRENOM_ENFANT`` for ``ENFANT_PRENOM``), one mistyped letter (``NOMBRE_OCCURENCES``,
``Xlatitude``). Each is a reading of the header; a column is matched only when every reading points
to one field, no other column points to it, and the field is still free. Otherwise the column stays
unmatched and the report lists it: a wrong match would put values in the wrong column silently.
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from quality.text import without_accents

# Short words agents add or drop freely in French labels.
STOP_WORDS = frozenset({"de", "du", "des", "la", "le", "les", "l", "d", "a", "au", "aux", "en", "et"})
# A mistyped letter is only credible in a long enough key: short codes differ by one letter on purpose.
MIN_TYPO_LENGTH = 8


def label_words(text: str) -> list[str]:
    """The words of a header or label: camelCase split, no accents or case, « (s) » and plurals removed."""
    text = str(text).replace("\ufeff", "")
    text = re.sub(r"\(\s*[sx]\s*\)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"(?<=[a-zà-ÿ])(?=[A-ZÀ-Þ])", " ", text)
    text = without_accents(text).casefold()
    return [_singular(w) for w in re.split(r"[\W_]+", text) if w]


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word[-1] in "sx" else word


def _content(words: list[str]) -> list[str]:
    return [w for w in words if w not in STOP_WORDS]


def _forms(words: list[str]) -> set[str]:
    """Readings of a header: its content words in order, and in any order."""
    content = _content(words) or words
    return {"".join(content), "|".join(sorted(content))}


def _label_forms(words: list[str]) -> set[str]:
    forms = _forms(words)
    content = _content(words)
    if len(content) >= 3:  # a label of two words without its last one is too vague to stand for it
        forms.add("".join(content[:-1]))
    return forms


def one_letter_apart(a: str, b: str) -> bool:
    """One letter substituted, inserted or deleted (``occurences`` / ``occurrences``)."""
    if abs(len(a) - len(b)) > 1 or a == b:
        return False
    edits = [op for op in SequenceMatcher(None, a, b, autojunk=False).get_opcodes() if op[0] != "equal"]
    return len(edits) == 1 and max(edits[0][2] - edits[0][1], edits[0][4] - edits[0][3]) == 1


def near_matches(columns: list[str], labels: dict[str, list[str]], taken: set[str]) -> dict[str, str]:
    """column → field for the columns whose every near reading names one free field, alone."""
    by_form: dict[str, set[str]] = {}
    keys: dict[str, set[str]] = {}  # field -> its labels' letters only, for the typo reading
    for field, texts in labels.items():
        if field in taken:
            continue
        for text in texts:
            words = label_words(text)
            if not words:
                continue
            for form in _label_forms(words):
                by_form.setdefault(form, set()).add(field)
            keys.setdefault(field, set()).add("".join(words))
    proposed: dict[str, str] = {}
    for column in columns:
        words = label_words(column)
        if not words:
            continue
        found: set[str] = set()
        for form in _forms(words):
            found |= by_form.get(form, set())
        if not found:
            key = "".join(words)
            if len(key) >= MIN_TYPO_LENGTH:
                found = {f for f, ks in keys.items() if any(one_letter_apart(key, k) for k in ks)}
        if len(found) == 1:
            proposed[column] = found.pop()
    # Two columns near one field: either could be meant, so neither is taken.
    counts: dict[str, int] = {}
    for field in proposed.values():
        counts[field] = counts.get(field, 0) + 1
    return {c: f for c, f in proposed.items() if counts[f] == 1}
