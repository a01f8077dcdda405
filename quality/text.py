"""Accent folding: the one way the platform compares French words whatever their accents.

Used to match headers (« Nom de l'attribuant » = « nom de l attribuant »), enum values and words in
free text. Comparison only: a value is never written back folded.
"""

from __future__ import annotations

import unicodedata


def without_accents(text: str) -> str:
    """``text`` with its combining marks removed (é → e, ç → c); other characters kept (œ stays)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def ascii_only(text: str) -> str:
    """``text`` folded to ASCII: accents removed, then any character with no ASCII form dropped."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
