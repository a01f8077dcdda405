"""The update frequencies a dataset may declare, and what each one means elsewhere.

The registry's vocabulary, its French label (reports, CLI), the age past which a producer's data is late
(scoreboard), and the EU Publications Office frequency code (DCAT-AP ``accrualPeriodicity``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, get_args

Frequency = Literal["daily", "weekly", "monthly", "quarterly", "semiannual", "annual", "irregular"]
FREQUENCIES: tuple[str, ...] = get_args(Frequency)

LABELS_FR: dict[str, str] = {
    "annual": "annuelle",
    "quarterly": "trimestrielle",
    "monthly": "mensuelle",
    "weekly": "hebdomadaire",
    "daily": "quotidienne",
    "semiannual": "semestrielle",
    "irregular": "irrégulière",
}

# Period plus grace; ``irregular`` is never late.
ALLOWED_AGE: dict[str, timedelta] = {
    "annual": timedelta(days=365 + 30),
    "semiannual": timedelta(days=183 + 21),
    "quarterly": timedelta(days=92 + 14),
    "monthly": timedelta(days=31 + 7),
    "weekly": timedelta(days=7 + 2),
    "daily": timedelta(days=2),
}

# http://publications.europa.eu/resource/authority/frequency/<code>
EU_CODES: dict[str, str] = {
    "daily": "DAILY",
    "weekly": "WEEKLY",
    "monthly": "MONTHLY",
    "quarterly": "QUARTERLY",
    "semiannual": "ANNUAL_2",
    "annual": "ANNUAL",
    "irregular": "IRREG",
}
