"""A whole département on one code location: how Dagster's own costs grow with the producers (issue 19).

``python -m bench.departement [--communes 272]`` writes a synthetic registry — the metropolis' real
producers plus synthetic communes up to the count of Indre-et-Loire's (272), each a ``drop`` producer
of every dataset the communes deliver — and measures, each in a fresh interpreter where it matters:

- **code location load**: imports, ``load_registry`` + ``build_definitions`` (assets, jobs, sensors,
  schedules) and the repository snapshot a code server sends the daemon and the UI;
- **sensor tick**: one evaluation of the inbox sensor with a file waiting in every commune's inbox for
  every dataset (one run request per partition);
- **one partition run**: a commune's subventions extract through ``harvested`` + ``harmonised`` in
  process, against the embedded warehouse of a scratch home.

Both the metropolis' registry and the département's are measured, so the growth is read beside its
reference. The numbers go to ``bench/results/departement-<date>.json``; bench/README.md quotes them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
REGISTRY = REPO / "pipelines"
RESULTS = Path(__file__).resolve().parent / "results"
DEPARTEMENT = "37"
COMMUNES = 272  # Indre-et-Loire (INSEE COG 2024)


def luhn_digit(digits: str) -> str:
    """The check digit that makes ``digits + d`` pass Luhn (SIREN's rule)."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str((10 - total % 10) % 10)


def synthetic_commune(insee: str, number: int) -> dict:
    """A commune as the registry declares one; SIREN by the communes' rule 21 + INSEE + Luhn."""
    stem = f"21{DEPARTEMENT}0{insee[2:]}"
    return {
        "id": f"commune-{insee}",
        "name": f"Commune synthétique {number}",
        "kind": "commune",
        "insee": insee,
        "siren": stem + luhn_digit(stem),
        "siren_verified": False,
        "postcode": f"{DEPARTEMENT}{number % 1000:03d}",
        # A few large ones, many small ones, as in a rural département.
        "population": 12000 if number % 25 == 0 else 800 + (number * 37) % 3000,
    }


def write_registry(target: Path, communes: int) -> int:
    """The shipped registry with synthetic communes added up to ``communes``; returns the count."""
    target.mkdir(parents=True, exist_ok=True)
    for path in REGISTRY.glob("*.yaml"):
        shutil.copyfile(path, target / path.name)
    producers_file = target / "producers.yaml"
    data = yaml.safe_load(producers_file.read_text(encoding="utf-8"))
    taken = {p.get("insee") for p in data["producers"]}
    existing = sum(1 for p in data["producers"] if p.get("kind") == "commune")
    added, code = [], 0
    while existing + len(added) < communes:
        code += 1
        insee = f"{DEPARTEMENT}{code:03d}"
        if insee not in taken:
            added.append(synthetic_commune(insee, code))
    data["producers"] = data["producers"] + added
    producers_file.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return existing + len(added)


# Run in a fresh interpreter: what a code server does when it starts.
_LOAD = """
import json, sys, time
t0 = time.perf_counter()
import dagster as dg
from deploy import platform
t1 = time.perf_counter()
registry = platform.load_registry()
definitions = platform.build_definitions(registry)
repository = definitions.get_repository_def()
t2 = time.perf_counter()
from dagster._core.remote_representation.external_data import RepositorySnap
snap = RepositorySnap.from_def(repository)
t3 = time.perf_counter()
partitions = 0
assets = 0
for node in repository.asset_graph.asset_nodes:
    assets += 1
    if node.partitions_def is not None:
        partitions += len(node.partitions_def.get_partition_keys())
print(json.dumps({
    "imports_s": round(t1 - t0, 2),
    "definitions_s": round(t2 - t1, 2),
    "snapshot_s": round(t3 - t2, 2),
    "assets": assets,
    "jobs": len(repository.get_all_jobs()),
    "schedules": len(repository.schedule_defs),
    "partitioned_asset_partitions": partitions,
    "max_partitions_per_asset": max(
        (len(n.partitions_def.get_partition_keys()) for n in repository.asset_graph.asset_nodes
         if n.partitions_def is not None), default=0),
    "producers": len(registry.producers),
    "datasets": len(registry.datasets),
}))
"""

_TICK = """
import json, sys, time
from pathlib import Path
import dagster as dg
from deploy import platform
from resources.store import Store
home = Path(sys.argv[1])
registry = platform.load_registry()
definitions = platform.build_definitions(registry)
sensor = definitions.get_sensor_def("inbox_sensor")
store = Store(home=str(home))
files = 0
for dataset in registry.datasets.values():
    for source in dataset.sources:
        if source.kind == "drop":
            folder = store.inbox(source.producer, dataset.id)
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "depot.csv").write_text("a,b\\n1,2\\n", encoding="utf-8")
            files += 1
best = None
for _ in range(3):
    with dg.build_sensor_context(resources={"store": store}) as context:
        t = time.perf_counter()
        requests = list(sensor(context) or [])
        elapsed = time.perf_counter() - t
    best = elapsed if best is None else min(best, elapsed)
print(json.dumps({"inbox_files": files, "run_requests": len(requests), "tick_s": round(best, 2)}))
"""

_PARTITION = """
import json, shutil, sys, time
from pathlib import Path
import dagster as dg
from deploy import platform
from deploy.platform import asset_key, build_dataset_assets, platform_resources
home, extract = Path(sys.argv[1]), Path(sys.argv[2])
registry = platform.load_registry()
dataset = registry.dataset("subventions")
resources = platform_resources(home)
resources["warehouse"].setup()
assets = build_dataset_assets(registry, dataset)
timings = []
for attempt in range(2):
    inbox = resources["store"].inbox("tours", "subventions")
    inbox.mkdir(parents=True, exist_ok=True)
    # Another file each time (one more row), so the second run is a new batch, not an unchanged one.
    text = extract.read_text(encoding="utf-8-sig", errors="replace")
    (inbox / f"subventions-{attempt}.csv").write_text(text + ("\\n" * attempt), encoding="utf-8")
    t = time.perf_counter()
    result = dg.materialize(
        assets,
        selection=[asset_key(dataset, "harvested"), asset_key(dataset, "harmonised")],
        partition_key="tours",
        instance=dg.DagsterInstance.ephemeral(),
        resources=resources,
        raise_on_error=True,
    )
    timings.append(time.perf_counter() - t)
    assert result.success
rows = result.asset_materializations_for_node(dataset.table + "__harmonised")[0].metadata["rows_read"].value
print(json.dumps({"partition_run_s": round(min(timings), 2), "rows_read": rows,
                  "partitions_of_dataset": len(dataset.producer_ids)}))
"""


def run_python(code: str, env: dict[str, str], *args: str) -> dict:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, cwd=REPO, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-4000:])
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_s"] = round(time.perf_counter() - started, 2)
    return result


def tours_extract(scratch: Path) -> Path:
    """Tours' subventions drop as the demo writes it."""
    from pipelines.demo import generate_demo

    producers = yaml.safe_load((REGISTRY / "producers.yaml").read_text(encoding="utf-8"))["producers"]
    inbox = scratch / "demo-inbox"
    generate_demo(inbox, producers)
    (extract,) = sorted((inbox / "tours" / "subventions").iterdir())[:1]
    return extract


def measure(communes: int) -> dict:
    from resources.postgres_server import stop_server

    results: dict = {"date": date.today().isoformat(), "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory(prefix="departement-") as tmp:
        scratch = Path(tmp)
        extract = tours_extract(scratch)
        departement = scratch / "registry"
        count = write_registry(departement, communes)
        for name, registry_dir in (("metropole", REGISTRY), ("departement", departement)):
            env = {
                k: v for k, v in os.environ.items() if k not in ("TERRITOIRE_WAREHOUSE_URL", "DAGSTER_HOME")
            }
            env["TERRITOIRE_REGISTRY"] = str(registry_dir)
            home = scratch / f"home-{name}"
            env["TERRITOIRE_HOME"] = str(home)
            entry = {"load": run_python(_LOAD, env)}
            print(f"{name}: load {entry['load']}", file=sys.stderr, flush=True)
            entry["tick"] = run_python(_TICK, env, str(scratch / f"tick-{name}"))
            print(f"{name}: tick {entry['tick']}", file=sys.stderr, flush=True)
            try:
                entry["partition"] = run_python(_PARTITION, env, str(home), str(extract))
            finally:
                stop_server(home)
            print(f"{name}: partition {entry['partition']}", file=sys.stderr, flush=True)
            results[name] = entry
        results["departement"]["communes"] = count
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--communes", type=int, default=COMMUNES)
    args = parser.parse_args(argv)
    results = measure(args.communes)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"departement-{results['date']}.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(results, ensure_ascii=False))


if __name__ == "__main__":
    main()
