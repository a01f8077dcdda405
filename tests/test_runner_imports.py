"""`territoire run` imports the quality gate's library in the background while partitions are ingested."""

from __future__ import annotations

import sys

from pipelines.runner import _import_in_background
from quality.gate import LIBRARY


def test_the_gate_library_is_imported_in_a_background_thread():
    thread = _import_in_background(LIBRARY)
    thread.join(120)
    assert not thread.is_alive()
    assert LIBRARY in sys.modules


def test_a_module_that_cannot_be_imported_is_left_to_its_caller():
    thread = _import_in_background("territoire_no_such_module")
    thread.join(10)
    assert not thread.is_alive()
    assert "territoire_no_such_module" not in sys.modules
