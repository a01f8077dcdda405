"""The run's board: tasks taken from both ends, those to come waited for, and the end of the run known."""

from __future__ import annotations

import threading

from pipelines.work_board import Task, WorkBoard


def test_the_two_takers_work_from_opposite_ends() -> None:
    board = WorkBoard()
    for producer in ("a", "b", "c"):
        board.add(Task("subventions", producer))
    assert board.take(front=True).producer == "a"
    assert board.take(front=False).producer == "c"


def test_a_taker_waits_for_an_expected_task_and_stops_when_none_can_come() -> None:
    board = WorkBoard()
    board.expect()  # a download under way
    taken: list[Task | None] = []
    taker = threading.Thread(target=lambda: taken.extend([board.take(front=False), None]))
    taker.start()
    taker.join(0.1)
    assert taker.is_alive(), "the taker must wait for the download, not end the run"
    board.add(Task("dae", "chu-tours", fetched=b"..."), expected=True)
    taker.join(5)
    assert taken[0].producer == "chu-tours"
    board.finish()
    assert board.take(front=True) is None


def test_a_publication_made_ready_by_a_partition_is_taken_before_the_end() -> None:
    board = WorkBoard()
    board.add(Task("irve", "metropole"))
    board.expect()  # irve's publication, once its partition is done
    partition = board.take(front=False)
    board.add(Task(partition.dataset), expected=True)
    board.finish()
    publication = board.take(front=True)
    assert publication is not None and publication.is_publication
    board.finish()
    assert board.take(front=False) is None


def test_a_task_the_helper_cannot_take_is_left_to_the_other_taker() -> None:
    board = WorkBoard()
    board.add(Task("dae", "chu-tours", fetched=TimeoutError("délai")))
    board.add(Task("dae", "tours"))

    def sendable(task: Task) -> bool:
        return not isinstance(task.fetched, BaseException)

    assert board.take(front=True, accept=sendable).producer == "tours"
    assert board.take(front=False).producer == "chu-tours"


def test_a_task_put_back_is_taken_again() -> None:
    board = WorkBoard()
    board.add(Task("prenoms", "tours"))
    task = board.take(front=True)
    board.put_back(task)
    assert board.take(front=False) is task
    board.finish()
    assert board.take(front=False) is None
