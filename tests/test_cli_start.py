"""The quick commands start without loading what they do not use (times are in bench/README.md)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SHARED_SCHEMAS

ROOT = Path(__file__).resolve().parents[1]
HEAVY = [
    "dagster",
    "great_expectations",
    "pandas",
    "pyarrow",
    "geopandas",
    "sqlalchemy",
    "frictionless",
    "pydantic",
]
PROBE = """
import json, sys
from pipelines.cli import app
try:
    app(sys.argv[1:], prog_name="territoire")
except SystemExit as exc:
    code = exc.code
print(json.dumps({"exit": code, "heavy": sorted(m for m in %r if m in sys.modules)}))
"""


def _run(home: Path, *args: str, env_extra: dict[str, str] | None = None) -> dict:
    env = {"PATH": "/usr/bin:/bin", "TERRITOIRE_HOME": str(home), **(env_extra or {})}
    done = subprocess.run(
        [sys.executable, "-c", PROBE % (HEAVY,), *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_help_loads_nothing_heavy(home):
    assert _run(home, "--help") == {"exit": 0, "heavy": []}


def test_drop_loads_nothing_heavy_even_the_first_time(home):
    # The first drop builds the registry cache (pydantic); the next ones read it.
    first = _run(
        home, "drop", "tours", "subventions", str(SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv")
    )
    second = _run(
        home, "drop", "tours", "subventions", str(SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv")
    )
    assert first["exit"] == 0 and second == {"exit": 0, "heavy": []}
    assert (home / "inbox" / "tours" / "subventions" / "exemple-valide.csv").exists()


def test_status_reads_the_batch_log_without_pandas_or_dagster(home, fresh_pg_url):
    _run(
        home, "drop", "tours", "subventions", str(SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv")
    )
    result = _run(home, "status", env_extra={"TERRITOIRE_WAREHOUSE_URL": fresh_pg_url})
    assert result == {"exit": 0, "heavy": []}


def test_a_registry_change_is_seen_at_the_next_command(home, tmp_path):
    from resources.registry.index import registry_index

    directory = tmp_path / "registry"
    directory.mkdir()
    for path in (ROOT / "pipelines").glob("*.yaml"):
        shutil.copy(path, directory / path.name)
    before = registry_index(home / "cache", directory)
    assert before.producers[0]["name"] == "Ville de Tours"
    [cached] = (home / "cache").glob("registry-*.json")
    assert cached.stat().st_mode & 0o777 == 0o600  # harvest entries as written: owner only
    producers = directory / "producers.yaml"
    producers.write_text(
        producers.read_text(encoding="utf-8").replace('"Ville de Tours"', '"Tours"', 1),
        encoding="utf-8",
    )
    assert registry_index(home / "cache", directory).producers[0]["name"] == "Tours"
    producers.write_text("producers: [{id: Tours}]\n", encoding="utf-8")
    # A broken registry is refused, cache or not.
    with pytest.raises(ValueError, match="producers.yaml : producers.0.name : clé obligatoire absente"):
        registry_index(home / "cache", directory)
