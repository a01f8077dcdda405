"""The portal's API under load, beside pygeoapi on the same table of the same PostgreSQL, in one run.

``python -m bench.api [--rows 1000000] [--requests 800] [--seconds 30]`` (needs the ``bench`` extra:
``uv sync --extra dev --extra bench``, for pygeoapi and its psycopg2 driver):

1. a throwaway database with ``arbres`` published through the warehouse (``Warehouse.publish``: the
   candidate, the diff, the history), its harmonised rows generated in SQL (seeded);
2. ``territoire serve`` and pygeoapi (its Starlette app under uvicorn, PostgreSQL provider on
   ``published.arbres``, ``source_row`` as id) as subprocesses, one process each;
3. 16 concurrent clients on loopback (httpx), bounded in requests and time, on a filtered paged query
   and a bbox query — ours on ``/api/…/records`` and on ``/ogc/…/items``, pygeoapi on its items;
   requests/s, p50, p99, errors;
4. the whole table exported (CSV, then Parquet), streamed and counted, with the server's peak RSS
   sampled every 20 ms (psutil) against its RSS before the export.

Prints the rows for bench/README.md and writes ``bench/results/api-<date>.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
import psutil
import psycopg
import sqlalchemy as sa

ADMIN_URL = os.environ.get(
    "TERRITOIRE_TEST_ADMIN_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
RESULTS = Path(__file__).resolve().parent / "results"
CLIENTS = 16
GENRES = ["Tilia", "Platanus", "Acer", "Quercus", "Fraxinus", "Betula", "Pinus", "Prunus"]
PRODUCERS = ["tours", "joue-les-tours", "saint-avertin", "saint-cyr-sur-loire"]
# Boxes of about 1 km inside the generated area (lon 0.55–0.80, lat 47.30–47.45).
BOXES = [(0.55 + 0.02 * i, 47.30 + 0.01 * i, 0.56 + 0.02 * i, 47.31 + 0.01 * i) for i in range(10)]


def _libpq(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def create_database() -> str:
    name = f"territoire_bench_api_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(_libpq(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = sa.make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    return url


def drop_database(url: str) -> None:
    name = sa.make_url(url).database
    with psycopg.connect(_libpq(ADMIN_URL), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def publish_trees(url: str, rows: int, home: Path) -> float:
    """``arbres`` with ``rows`` generated trees, published as version 1; the publication's seconds."""
    from portal.columns import dataset_schema
    from resources.registry.load import load_registry
    from resources.warehouse import Warehouse

    schema = dataset_schema(load_registry().dataset("arbres"))
    warehouse = Warehouse(url=url, home=str(home))
    warehouse.setup()
    warehouse.ensure_dataset("arbres", schema)
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("SELECT setseed(0.37)")
        conn.execute(
            """
            INSERT INTO harmonised.arbres (id, longitude, latitude, genre, espece, nom_vernaculaire,
                code_insee, hauteur, diametre, date_plantation, remarquable, geom,
                producer, batch_id, source_row)
            SELECT i, lon, lat, g,
                g || ' ' || (ARRAY['cordata', 'x hispanica', 'campestre', 'robur'])[1 + i %% 4],
                'arbre n° ' || i, '37' || (100 + i %% 90)::text, round((2 + random() * 28)::numeric, 1),
                round((10 + random() * 90)::numeric, 0), date '1950-01-01' + (i %% 25000),
                i %% 97 = 0, ST_SetSRID(ST_MakePoint(lon, lat), 4326), p, 'arbres-' || p || '-bench', i
            FROM (
                SELECT i, 0.55 + random() * 0.25 AS lon, 47.30 + random() * 0.15 AS lat,
                    (%(genres)s::text[])[1 + (i * 7) %% 8] AS g, (%(producers)s::text[])[1 + i %% 4] AS p
                FROM generate_series(1, %(rows)s) i
            ) s
            """,
            {"genres": GENRES, "producers": PRODUCERS, "rows": rows},
        )
        conn.execute("ANALYZE harmonised.arbres")
    started = time.perf_counter()
    warehouse.publish("arbres", schema)
    seconds = time.perf_counter() - started
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute("ANALYZE published.arbres")
        # pygeoapi's provider wants a primary key column; the portal needs none.
        conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS arbres_source_row ON published.arbres (source_row)")
    warehouse.dispose()
    return seconds


def _wait(url: str, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} s'est arrêté : {process.stdout.read() if process.stdout else ''}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{what} ne répond pas")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_portal(url: str, home: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    territoire = Path(sys.executable).parent / "territoire"
    env = {**os.environ, "TERRITOIRE_HOME": str(home), "TERRITOIRE_WAREHOUSE_URL": url}
    process = subprocess.Popen(
        [str(territoire), "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    _wait(f"{base}/openapi.json", process, "territoire serve")
    return process, base


PYGEOAPI_CONFIG = """
server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  languages: [fr-FR]
  limits: {{default_items: 10, max_items: 1000}}
  map: {{url: "http://127.0.0.1/{{z}}/{{x}}/{{y}}.png", attribution: bench}}
logging: {{level: ERROR}}
metadata:
  identification:
    title: bench
    description: bench
    keywords: [bench]
    keywords_type: theme
    terms_of_service: https://creativecommons.org/licenses/by/4.0/
    url: http://127.0.0.1
  license: {{name: CC-BY 4.0, url: "https://creativecommons.org/licenses/by/4.0/"}}
  provider: {{name: bench, url: "http://127.0.0.1"}}
  contact: {{name: bench, position: bench, address: bench, city: Tours, stateorprovince: Centre,
    postalcode: "37000", country: France, phone: "+33000000000", fax: "+33000000000",
    email: bench@example.org, url: "http://127.0.0.1", hours: "9-17", instructions: none,
    role: pointOfContact}}
resources:
  arbres:
    type: collection
    title: arbres
    description: arbres
    keywords: [arbres]
    extents:
      spatial: {{bbox: [-180, -90, 180, 90], crs: "http://www.opengis.net/def/crs/OGC/1.3/CRS84"}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: {host}, port: {db_port}, dbname: {dbname}, user: {user}, password: "{password}",
          search_path: [published, public]}}
        id_field: source_row
        table: arbres
        geom_field: geom
"""


def start_pygeoapi(url: str, workdir: Path) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    parsed = sa.make_url(url)
    config = workdir / "pygeoapi.yml"
    config.write_text(
        PYGEOAPI_CONFIG.format(
            port=port,
            host=parsed.host or "127.0.0.1",
            db_port=parsed.port or 5432,
            dbname=parsed.database,
            user=parsed.username,
            password=parsed.password or "",
        )
    )
    openapi = workdir / "pygeoapi-openapi.yml"
    env = {**os.environ, "PYGEOAPI_CONFIG": str(config), "PYGEOAPI_OPENAPI": str(openapi)}
    pygeoapi = Path(sys.executable).parent / "pygeoapi"
    subprocess.run(
        [str(pygeoapi), "openapi", "generate", str(config), "--output-file", str(openapi)],
        env=env,
        check=True,
        capture_output=True,
    )
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "pygeoapi.starlette_app:APP",
            "--port",
            str(port),
            "--log-level",
            "error",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    _wait(f"{base}/conformance?f=json", process, "pygeoapi")
    return process, base


async def _load(urls: list[str], requests: int, seconds: float) -> dict[str, float]:
    """16 clients share ``requests`` requests (cycling through ``urls``) for at most ``seconds``."""
    latencies: list[float] = []
    errors = 0
    issued = 0
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)

    async with httpx.AsyncClient(timeout=60, limits=limits) as client:

        async def worker() -> None:
            nonlocal issued, errors
            while issued < requests and time.perf_counter() < deadline:
                url = urls[issued % len(urls)]
                issued += 1
                started = time.perf_counter()
                try:
                    response = await client.get(url)
                    ok = response.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CLIENTS)))
        wall = time.perf_counter() - started
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors,
        "req_per_s": len(latencies) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
    }


def load(urls: list[str], requests: int, seconds: float) -> dict[str, float]:
    httpx.get(urls[0], timeout=120)  # warm caches and pools once, untimed
    return asyncio.run(_load(urls, requests, seconds))


def export(url: str, pid: int) -> dict[str, float]:
    """Stream ``url`` to nowhere; bytes, seconds, and the server's RSS before and at its peak."""
    process = psutil.Process(pid)
    before = process.memory_info().rss
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    size = 0
    started = time.perf_counter()
    with httpx.stream("GET", url, timeout=600) as response:
        response.raise_for_status()
        for chunk in response.iter_bytes():
            size += len(chunk)
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    return {"bytes": size, "seconds": seconds, "rss_before_mib": before / 2**20, "rss_peak_mib": peak / 2**20}


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=800)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--no-pygeoapi", action="store_true")
    args = parser.parse_args()
    results: dict = {
        "date": date.today().isoformat(),
        "rows": args.rows,
        "machine": platform.machine(),
        "cores": os.cpu_count(),
        "clients": CLIENTS,
    }
    url = create_database()
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    processes: list[subprocess.Popen] = []
    try:
        results["publish_seconds"] = publish_trees(url, args.rows, workdir)
        print(f"publié : {args.rows} arbres en {results['publish_seconds']:.1f} s", flush=True)
        portal, ours = start_portal(url, workdir)
        processes.append(portal)
        theirs = None
        if not args.no_pygeoapi and shutil.which("pygeoapi", path=str(Path(sys.executable).parent)):
            pygeo, theirs = start_pygeoapi(url, workdir)
            processes.append(pygeo)
        queries = {
            "filtered, paged (genre = X, 50 rows)": (
                [f"{ours}/api/datasets/arbres/records?genre__exact={g}&page_size=50" for g in GENRES],
                [f"{ours}/ogc/collections/arbres/items?genre={g}&limit=50" for g in GENRES][:0],
                [f"{theirs}/collections/arbres/items?genre={g}&limit=50&f=json" for g in GENRES]
                if theirs
                else [],
            ),
            "bbox (≈1 km², 50 rows)": (
                [
                    f"{ours}/api/datasets/arbres/records?bbox={','.join(map(str, b))}&page_size=50"
                    for b in BOXES
                ],
                [f"{ours}/ogc/collections/arbres/items?bbox={','.join(map(str, b))}&limit=50" for b in BOXES],
                [
                    f"{theirs}/collections/arbres/items?bbox={','.join(map(str, b))}&limit=50&f=json"
                    for b in BOXES
                ]
                if theirs
                else [],
            ),
        }
        results["load"] = {}
        for name, (api_urls, ogc_urls, their_urls) in queries.items():
            entry = {"ours_api": load(api_urls, args.requests, args.seconds)}
            if ogc_urls:
                entry["ours_ogc"] = load(ogc_urls, args.requests, args.seconds)
            if their_urls:
                entry["pygeoapi"] = load(their_urls, args.requests, args.seconds)
            results["load"][name] = entry
            print(name, json.dumps(entry), flush=True)
        results["export"] = {}
        for fmt in ("csv", "parquet"):
            results["export"][fmt] = export(f"{ours}/api/datasets/arbres/export.{fmt}", portal.pid)
            print(fmt, json.dumps(results["export"][fmt]), flush=True)
    finally:
        for process in processes:
            _stop(process)
        drop_database(url)
        shutil.rmtree(workdir, ignore_errors=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"api-{results['date']}.json").write_text(json.dumps(results, indent=1, ensure_ascii=False))
    print(json.dumps(results, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
