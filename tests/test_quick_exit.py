"""A long command's process freezes its heap at exit, after every exit handler has run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_the_heap_is_frozen_after_the_exit_handlers() -> None:
    code = (
        "import atexit, gc\n"
        "atexit.register(lambda: print('gelé' if gc.get_freeze_count() else 'pas gelé'))\n"
        "from pipelines.quick_exit import skip_final_collection\n"
        "skip_final_collection()\n"
        "atexit.register(lambda: print('avant', gc.get_freeze_count() == 0))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["avant", "True", "gelé"]
