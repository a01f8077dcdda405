"""A long command's process ends without one more collection of its whole heap.

At exit, CPython's finalisation runs the cycle collector over every object still alive. After a
``territoire run`` of the demo territory (Dagster, great-expectations, pandas imported; 48 partitions
run) that took 1.7 s on the bench machine, once the work was committed and the table printed; the
run then waited 0.9 s more for the helper process to end, and ``territoire demo`` spent 0.3 s there.
Freezing the heap just before (:func:`gc.freeze`) leaves those objects to the operating system,
which takes the memory back at once.

Nothing the platform writes depends on a collector at exit: files are written atomically and
closed by the code that opened them, connections and pools by their context managers.
"""

from __future__ import annotations

import atexit
import gc


def skip_final_collection() -> None:
    """Freeze the heap at exit: the exit handlers still run, only the collection after them is skipped."""
    atexit.unregister(gc.freeze)  # once per process, however many commands it ran
    atexit.register(gc.freeze)
