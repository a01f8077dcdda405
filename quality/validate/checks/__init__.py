"""Validata's custom checks (the schemas' ``custom_checks``), vectorised, one module per family.

The frame a check receives holds the schema's columns with missing values and cells of the wrong type
blanked to ``""``: a check says nothing about an empty cell (``required`` decides that), except the
checks whose very subject is emptiness (``one-of-required``, ``cohesive-columns-value``). Semantics
follow validata-core and fr-format (python-stdnum for SIRET/SIREN, ``opening_hours`` for OSM hours,
``phonenumbers``). Importing this package registers every family.
"""

from __future__ import annotations

from quality.validate.checks import columns, formats, gps, periods, siret
from quality.validate.checks.registry import CHECKS, CheckFn, register, run_custom_checks
from quality.validate.checks.siret import siren_valid, siret_valid

FAMILIES = (columns, formats, gps, periods, siret)

__all__ = ["CHECKS", "FAMILIES", "CheckFn", "register", "run_custom_checks", "siren_valid", "siret_valid"]
