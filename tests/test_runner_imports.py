"""`territoire run` imports the quality gate's library in the background while partitions are ingested."""

from __future__ import annotations

import sys

from pipelines.runner import _import_in_background
from quality.gate import LIBRARIES


def test_the_gate_library_is_imported_in_a_background_thread():
    thread = _import_in_background(*LIBRARIES)
    thread.join(120)
    assert not thread.is_alive()
    assert all(module in sys.modules for module in LIBRARIES)


def test_a_module_that_cannot_be_imported_is_left_to_its_caller():
    sys.modules.pop("colorsys", None)
    thread = _import_in_background("territoire_no_such_module", "colorsys")
    thread.join(10)
    assert not thread.is_alive()
    assert "territoire_no_such_module" not in sys.modules
    assert "colorsys" in sys.modules  # the next module is still imported
