"""Table Schema validation of a text frame, as Validata (frictionless 5) would judge the file.

The package's public face, the names the platform imports: :func:`validate_frame` (the entry point,
:mod:`.frame`), :func:`check_structure` (the header, :mod:`.structure`), :func:`factorize_text`
(:mod:`.cells`). Inside, :mod:`.types` parses each type, :mod:`.constraints` checks a column and the
keys, :mod:`.messages` writes the French, :mod:`.checks` holds Validata's custom checks; those modules
import each other directly, never through this one.
"""

from __future__ import annotations

from quality.validate.cells import as_text, factorize_text
from quality.validate.frame import Validation, validate_frame
from quality.validate.structure import StructureIssue, check_structure

__all__ = ["StructureIssue", "Validation", "as_text", "check_structure", "factorize_text", "validate_frame"]
