"""A producer can only write its own partition, and nothing that arrives can escape its folder."""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa
from conftest import SHARED_SCHEMAS
from typer.testing import CliRunner

from assets.keys import asset_key
from assets.producer import build_dataset_assets
from pipelines.cli import app
from resources.harvest.resource import Harvester
from resources.registry.load import load_registry
from resources.store import Store, safe_file_name, safe_id
from resources.warehouse import Warehouse

VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"
BAD_IDS = ["../x", "..", "tours/../metropole", "/etc", "Tours", "tours\x00", "-tours", "tours ", "", "a\nb"]
HOSTILE_NAMES = ["..", "...", "-rf.csv", "--help", "..\\..\\evil.csv", "a\\b.csv", " .hidden", "x" * 300]


def _inside(path: Path, folder: Path) -> bool:
    return path.resolve().is_relative_to(folder.resolve())


def test_a_file_claiming_another_commune_lands_in_its_droppers_partition(
    home: Path, fresh_pg_url: str, tmp_path: Path
) -> None:
    registry = load_registry()
    dataset = registry.dataset("subventions")
    store = Store(home=str(home))
    warehouse = Warehouse(url=fresh_pg_url, home=str(home))
    warehouse.setup()
    # Every row says Tours is the grantor (name and SIRET), but Fondettes dropped it.
    lines = VALID.read_text(encoding="utf-8").splitlines(keepends=True)
    rows = [lines[0]] + [",".join(["TOURS", "21370261600011", *line.split(",")[2:]]) for line in lines[1:]]
    forged = tmp_path / "tours-subventions.csv"
    forged.write_text("".join(rows), encoding="utf-8")
    store.drop("fondettes", "subventions", forged)
    result = dg.materialize(
        build_dataset_assets(registry, dataset),
        selection=[asset_key(dataset, "harvested"), asset_key(dataset, "harmonised")],
        partition_key="fondettes",
        resources={"store": store, "warehouse": warehouse, "harvester": Harvester()},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    engine = sa.create_engine(fresh_pg_url)
    with engine.connect() as conn:
        producers = conn.execute(
            sa.text('SELECT producer, count(*), min("nomAttribuant") FROM harmonised.subventions GROUP BY 1')
        ).all()
        batches = conn.execute(sa.text("SELECT producer FROM meta.batches")).scalars().all()
    engine.dispose()
    warehouse.dispose()
    assert [tuple(r) for r in producers] == [("fondettes", 29, "TOURS")]
    assert batches == ["fondettes"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_store_refuses_bad_ids_before_building_a_path(home: Path, bad: str) -> None:
    store = Store(home=str(home))
    for call in (
        lambda: store.inbox(bad, "subventions"),
        lambda: store.inbox("tours", bad),
        lambda: store.archive_dir(bad, "subventions"),
        lambda: store.drop(bad, "subventions", VALID),
        lambda: store.archive_bytes("tours", bad, b"a\n1\n", "x.csv"),
    ):
        with pytest.raises(ValueError):
            call()
    with pytest.raises(ValueError):
        safe_id(bad, "producer")
    assert not any(p for p in home.rglob("*") if p.is_file())


def test_cli_drop_refuses_bad_ids_with_exit_2(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TERRITOIRE_HOME", str(home))
    runner = CliRunner()
    for args in (["../x", "subventions"], ["tours", "../subventions"], ["/etc", "subventions"]):
        result = runner.invoke(app, ["drop", *args, str(VALID)])
        assert result.exit_code == 2, result.output
    assert not (home / "inbox").exists() or not any((home / "inbox").rglob("*.csv"))
    assert not (home.parent / "x").exists()


def test_hostile_file_names_stay_in_the_inbox_and_the_archive(home: Path, tmp_path: Path) -> None:
    store = Store(home=str(home))
    inbox = store.inbox("tours", "subventions")
    archive = store.archive_dir("tours", "subventions")
    sources = tmp_path / "sources"
    sources.mkdir()
    for i, name in enumerate(HOSTILE_NAMES):
        if name in ("..", "..."):
            continue  # not a file name a file can have on disk; covered through archive_bytes below
        source = sources / name[:255]
        source.write_text(f"id\n{i}\n", encoding="utf-8")
        target = store.drop("tours", "subventions", source)
        assert _inside(target, inbox) and target.parent == inbox
        assert not target.name.startswith(("-", "."))
    for name in [*HOSTILE_NAMES, "../../../../tmp/evil.csv", "/etc/passwd", "a\x00b.csv", "\x00"]:
        record = store.archive_bytes("tours", "subventions", name.encode("utf-8", "replace") + b"\n1\n", name)
        assert _inside(Path(record.path), archive)
        assert "/" not in record.file_name and "\x00" not in record.file_name
        assert not record.file_name.startswith("-") and record.file_name not in ("", ".", "..")
    for name in ("../x.csv", "a/../../b.csv", "x\x00/../../y", "-", "..", "\\..\\"):
        clean = safe_file_name(name)
        assert "/" not in clean and "\x00" not in clean and clean not in ("", ".", "..")
        assert not clean.startswith("-")


def test_cli_drop_of_a_dash_named_file_stays_in_the_inbox(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TERRITOIRE_HOME", str(home))
    source = tmp_path / "-rf.csv"
    source.write_bytes(VALID.read_bytes())
    result = CliRunner().invoke(app, ["drop", "tours", "subventions", "--", str(source)])
    assert result.exit_code == 0, result.output
    files = Store(home=str(home)).inbox_files("tours", "subventions")
    assert [f.name for f in files] == ["rf.csv"]


def test_symlinks_planted_in_the_inbox_are_not_followed(home: Path, tmp_path: Path) -> None:
    # Someone with write access to an inbox folder (an SFTP drop) must not make the platform read
    # and archive a file of its own machine.
    store = Store(home=str(home))
    secret = tmp_path / "secret.csv"
    secret.write_text("motdepasse\nhunter2\n", encoding="utf-8")
    inbox = store.inbox("tours", "subventions")
    inbox.mkdir(parents=True)
    os.symlink(secret, inbox / "lien.csv")
    os.symlink(tmp_path, store.root / "inbox" / "fondettes")
    (tmp_path / "subventions").mkdir()
    (tmp_path / "subventions" / "x.csv").write_text("a\n1\n", encoding="utf-8")
    assert store.inbox_files("tours", "subventions") == []
    assert store.inbox_files("fondettes", "subventions") == []
    assert store.pending_inboxes() == {}
