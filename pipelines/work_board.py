"""The run's tasks as they become ready, taken by whichever process is free.

A ``territoire run`` has three kinds of work: the drops' partitions (ready at once), the harvested
partitions (ready when their download is over) and each dataset's publication (ready when all its
partitions of the run are done). Two takers share them: the main process's thread, which takes from
the back, and the thread that feeds the helper process, which takes from the front — so the helper
starts on the first datasets while the main process works back from the last ones and meets first
the harvests and publications, added at the back as they become ready.

``queue.Queue`` does not fit: the run must know when *no more* work can come (the last download and
the last publication are done), not only that the queue is empty for now; and the helper does not
take every task (publications, a download's exception).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, eq=False)
class Task:
    """A partition's run (``producer`` set) or a dataset's publication (``producer`` None)."""

    dataset: str
    producer: str | None = None
    # A harvested partition's download: Harvested, or the exception the download raised.
    fetched: Any = None

    @property
    def is_publication(self) -> bool:
        return self.producer is None


class WorkBoard:
    """Tasks ready to run, and how many are still to come (``expect``) or running."""

    def __init__(self) -> None:
        self._ready: deque[Task] = deque()
        self._unfinished = 0
        self._changed = threading.Condition()

    def expect(self, count: int = 1) -> None:
        """``count`` tasks will be added later (a download under way, a publication to come)."""
        with self._changed:
            self._unfinished += count

    def add(self, task: Task, *, expected: bool = False) -> None:
        """A task ready to run; ``expected`` when it was counted by :meth:`expect` already."""
        with self._changed:
            self._ready.append(task)
            if not expected:
                self._unfinished += 1
            self._changed.notify_all()

    def put_back(self, task: Task) -> None:
        """A task its taker could not run (the helper died): someone else takes it."""
        with self._changed:
            self._ready.appendleft(task)
            self._changed.notify_all()

    def take(self, *, front: bool, accept: Callable[[Task], bool] = lambda task: True) -> Task | None:
        """The next task this taker can run, waiting for one; None once no task can come any more."""
        with self._changed:
            while True:
                task = self._pop(front, accept)
                if task is not None:
                    return task
                if self._unfinished == 0:
                    return None
                self._changed.wait()

    def finish(self) -> None:
        """A taken task is done (the tasks it made ready were added before)."""
        with self._changed:
            self._unfinished -= 1
            self._changed.notify_all()

    def _pop(self, front: bool, accept: Callable[[Task], bool]) -> Task | None:
        order = range(len(self._ready)) if front else range(len(self._ready) - 1, -1, -1)
        for i in order:
            if accept(self._ready[i]):
                task = self._ready[i]
                del self._ready[i]
                return task
        return None
