"""A small published territory for the portal's tests, built through the real pipeline, and
``territoire serve`` started on it as a subprocess.

Two datasets: ``subventions`` (three communes' drops, published twice so the history has two
versions) and ``dae`` (defibrillators, a point geometry). Built in ~20 s on 2 cores.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from pipeline_runs import pipeline_runs

from pipelines.demo import generate_demo
from resources.registry.load import load_registry

SUBVENTIONS_PRODUCERS = ("tours", "joue-les-tours", "saint-avertin")
DAE_PRODUCERS = ("tours", "joue-les-tours")
REPO = Path(__file__).resolve().parents[1]


def build_territory(home: Path, url: str) -> dict[str, object]:
    """Publish subventions (version 1 without saint-avertin, version 2 with it) and dae."""
    registry = load_registry()
    demo = home / "demo-inbox"
    generate_demo(demo, [p.model_dump() for p in registry.producers])
    runs = pipeline_runs(home, url, "subventions")
    for producer in SUBVENTIONS_PRODUCERS[:2]:
        _drop(demo, runs, producer, "subventions")
        runs.ingest(producer, raise_on_error=True)
    runs.publish()
    first_published = time.time()
    time.sleep(1.1)  # versions a second apart, so as_of between them is unambiguous
    _drop(demo, runs, SUBVENTIONS_PRODUCERS[2], "subventions")
    runs.ingest(SUBVENTIONS_PRODUCERS[2], raise_on_error=True)
    runs.publish()
    dae = pipeline_runs(home, url, "dae")
    for producer in DAE_PRODUCERS:
        _drop(demo, dae, producer, "dae")
        dae.ingest(producer, raise_on_error=True)
    dae.publish()
    runs.warehouse.dispose()
    dae.warehouse.dispose()
    return {"between_versions": first_published + 0.5}


def _drop(demo: Path, runs, producer: str, dataset: str) -> None:
    folder = demo / producer / dataset
    for path in sorted(folder.iterdir()):
        runs.store.drop(producer, dataset, path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(home: Path, url: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """``territoire serve`` on ``url`` in a subprocess; its base URL while the block lasts."""
    port = free_port()
    territoire = shutil.which("territoire", path=str(Path(sys.executable).parent)) or "territoire"
    environment = {
        **os.environ,
        "TERRITOIRE_HOME": str(home),
        "TERRITOIRE_WAREHOUSE_URL": url,
        **(env or {}),
    }
    # The server's log goes to a file: a pipe nobody reads fills up (64 KiB of access lines and
    # tracebacks) and the server then blocks on its next write.
    log = (home / f"serve-{port}.log").open("w")
    process = subprocess.Popen(
        [territoire, "serve", "--port", str(port)],
        env=environment,
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"territoire serve s'est arrêté : {Path(log.name).read_text()}")
            try:
                if httpx.get(f"{base}/openapi.json", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError("territoire serve ne répond pas")
            time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
