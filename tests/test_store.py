import os
from pathlib import Path

import pytest

from resources.store import Store, safe_file_name


def test_archive_is_content_addressed_and_idempotent(home: Path, tmp_path: Path):
    store = Store(home=str(home))
    source = tmp_path / "extrait.csv"
    source.write_bytes(b"a;b\n1;2\n")
    first = store.archive_file("tours", "subventions", source)
    second = store.archive_file("tours", "subventions", source)
    assert first == second
    assert Path(first.path).name == f"{first.sha256}.csv"
    assert Path(first.path).read_bytes() == b"a;b\n1;2\n"
    assert [a.sha256 for a in store.archived("tours", "subventions")] == [first.sha256]


def test_drop_lands_in_inbox(home: Path, tmp_path: Path):
    store = Store(home=str(home))
    source = tmp_path / "x.csv"
    source.write_text("a\n1\n")
    target = store.drop("tours", "subventions", source)
    assert target.parent == home / "inbox" / "tours" / "subventions"
    assert store.pending_inboxes() == {("tours", "subventions"): [target]}


@pytest.mark.parametrize(
    "name", ["../../etc/passwd", "/abs/x.csv", "-rf.csv", "a\x00b.csv", "..", "..\\..\\x.csv"]
)
def test_hostile_names_stay_inside(name: str):
    safe = safe_file_name(name)
    assert "/" not in safe and "\x00" not in safe and not safe.startswith("-") and safe not in ("", ".", "..")


@pytest.mark.parametrize("producer", ["../tours", "Tours", "tours/x", "", "a\x00"])
def test_unsafe_ids_never_become_paths(home: Path, producer: str):
    with pytest.raises(ValueError):
        Store(home=str(home)).inbox(producer, "subventions")


def test_files_copied_in_are_numbered_home_wide_in_the_order_they_arrived(home: Path):
    # Copied in by a network share (no `territoire drop`): Tours' file arrived first. Whichever inbox
    # a process lists first — a worker may start with the Métropole's — Tours' file comes first.
    store = Store(home=str(home))
    arrived = []
    for index, producer in enumerate(("tours", "metropole")):
        path = store.inbox(producer, "arbres") / f"arbres-{producer}.csv"
        path.parent.mkdir(parents=True)
        path.write_text("id\n1\n", encoding="utf-8")
        os.utime(path, ns=(1_700_000_000_000_000_000 + index, 1_700_000_000_000_000_000 + index))
        arrived.append(path)
    (metropole,) = store.inbox_files("metropole", "arbres")
    (tours,) = store.inbox_files("tours", "arbres")
    assert (store.drop_sequence(tours), store.drop_sequence(metropole)) == (1, 2)
    # A later drop takes the next number; numbers already given never change.
    source = home / "later.csv"
    source.write_text("id\n2\n", encoding="utf-8")
    later = store.drop("tours", "arbres", source)
    assert store.drop_sequence(later) == 3
    assert [store.drop_sequence(p) for p in store.inbox_files("tours", "arbres")] == [1, 3]
