"""Cell normalisers: rewrite a text column into its Table Schema canonical lexical form.

Each normaliser takes a text Series and returns ``(new_series, cells_changed)``. Only unambiguous
rewrites are made; a value that cannot be read with certainty is left exactly as it came, so the
validator quarantines it and shows the producer the original cell. What is applied to a column is
decided by the field's Table Schema type and constraints, never by its name.

Decisions worth knowing:
- ``1,5`` is read as a decimal comma (French producers); ``1.234`` alone is left as it is (a valid
  decimal number in Table Schema), only ``1.234.567`` or ``1.234,5`` are read as thousands.
- Dates are read day first (``21/12/2017``); two-digit years (``21/12/17``) are left alone.
- Lost leading zeros of a fixed-length numeric code are restored only when the cell shows that a
  number conversion happened (``1001.0``, ``1.001E+3``). A bare ``1001`` for a 5-digit INSEE code is
  left as it is: it may as well be a mistyped ``37100`` and a silent ``01001`` would point to another
  commune, while the validator's message lets the agent fix it.

Modules: :mod:`.column` (what a field calls for), :mod:`.numbers`, :mod:`.dates`, :mod:`.words`,
and :mod:`.rewrites` (how a normaliser rewrites cells).
"""

from assets.harmonise.normalise.column import KIND_LABELS_FR, normalise_column, strip_whitespace
from assets.harmonise.normalise.dates import (
    date_candidates,
    expects_period,
    normalise_date,
    normalise_datetime,
    normalise_period,
)
from assets.harmonise.normalise.numbers import (
    digit_code_length,
    normalise_identifier,
    normalise_integer,
    normalise_number,
    normalise_percent,
)
from assets.harmonise.normalise.words import fold, normalise_boolean, normalise_enum

__all__ = [
    "KIND_LABELS_FR",
    "date_candidates",
    "digit_code_length",
    "expects_period",
    "fold",
    "normalise_boolean",
    "normalise_column",
    "normalise_date",
    "normalise_datetime",
    "normalise_enum",
    "normalise_identifier",
    "normalise_integer",
    "normalise_number",
    "normalise_percent",
    "normalise_period",
    "strip_whitespace",
]
