"""The key two headers are compared by: no BOM, accents, case, spaces or punctuation.

``Date convention`` == ``dateConvention`` == ``DATE_CONVENTION``: the exact tiers of header matching,
the aliases and the crosswalks all compare headers under this one key.
"""

from __future__ import annotations

import re

from quality.text import without_accents


def header_key(header: str) -> str:
    """Comparison key of a header: no BOM, accents, case, spaces or punctuation."""
    text = str(header).replace("\ufeff", "").removeprefix("ï»¿")  # BOM, also when decoded as cp1252
    return re.sub(r"[\W_]+", "", without_accents(text).casefold())
