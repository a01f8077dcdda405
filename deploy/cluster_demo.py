"""``make cluster-demo``: the demo territory run by Dagster's distributed engine on worker hosts.

On this machine, as root, it starts what a production deployment has on several:

- the platform's PostgreSQL (the embedded cluster of a fresh home) holding the warehouse and, in a
  database of its own, the Dagster instance (``deploy/dagster.yaml``: run and event storage on
  PostgreSQL, queued run coordinator with its tag limits, default run launcher);
- a code server of ``deploy.code_location``, whose jobs run every step with the Celery executor
  (``TERRITOIRE_EXECUTOR=celery``), and ``dagster-daemon`` on a workspace pointing at it;
- two Celery workers (dagster-celery), each on its own host: a network namespace on a bridge, with its
  own host name (``deploy/hosts.py``); they reach the broker (the machine's Redis) and PostgreSQL
  through relays on the bridge address, never over loopback, and the operators' demo feeds on a
  server listening on that address; they share the code and the home's files with the daemon (one
  filesystem, as a shared volume would be).

The drops are picked up by the platform's own inbox sensor, the harvested feeds are queued as their
schedules would queue them (same tags), and the publication is the automation sensor's: the daemon
does the orchestration, the demo only waits for the instance to be idle with every dataset published.
A single-process ``territoire demo && territoire run`` in another home gives the reference. The last
line printed is one JSON object (``deploy/outcome.py``). Everything started is stopped on the way out,
Ctrl-C included.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import ExitStack
from pathlib import Path

import dagster as dg
import psycopg

from deploy.hosts import BRIDGE_ADDRESS, Network, reachable, wait_for_port
from deploy.outcome import same_territory, steps_per_host, summary, warehouse_facts
from deploy.platform import HOST_TAG, Registry, asset_key, ingest_job_name, load_registry, source_host
from deploy.processes import BIN, REPO, Cluster, free_port, log, wait_for_workers

INSTANCE_DB = "dagster"
# Seconds of an idle instance, after a failed run, before the demo stops waiting for publications
# (the publication sensor ticks every 30 s).
IDLE_AFTER_FAILURE = 180
BROKER_PORT = 6379
# Variables that would point a child at another home, warehouse, instance or feed than the one given.
_INHERITED_OFF = (
    "DAGSTER_HOME",
    "TERRITOIRE_WAREHOUSE_URL",
    "TERRITOIRE_FEEDS_URL",
    "TERRITOIRE_OPERATOR_DB_URL",
    "TERRITOIRE_EXECUTOR",
    "TERRITOIRE_INSTANCE_URL",
)


def base_environment(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _INHERITED_OFF}
    env["TERRITOIRE_HOME"] = str(home)
    return env


def fresh_home(home: Path) -> None:
    """An empty home; a previous demo's embedded cluster there is stopped first."""
    from resources.postgres_server import stop_server

    if home.exists():
        stop_server(home)
        shutil.rmtree(home)
    home.mkdir(parents=True)


def run_single_process(home: Path, stack: ExitStack) -> dict:
    """``territoire demo && territoire run`` in ``home``: the reference warehouse's facts."""
    from resources.postgres_server import ensure_server, stop_server

    fresh_home(home)
    stack.callback(stop_server, home)
    env = base_environment(home)
    started = time.monotonic()
    for command in (["demo"], ["run"]):
        done = subprocess.run(
            [str(BIN / "territoire"), *command], env=env, cwd=REPO, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"territoire {command[0]} (single process) failed:\n{done.stdout}{done.stderr}"
            )
    log(f"single-process reference done in {time.monotonic() - started:.0f} s")
    return warehouse_facts(ensure_server(home))


def harvested_partitions(registry: Registry) -> list[tuple[str, str, str, str]]:
    """(job, producer, dataset id, host) of every harvested source: what its schedule would request."""
    return [
        (ingest_job_name(dataset.table), source.producer, dataset.id, source_host(source))
        for dataset in registry.datasets.values()
        for source in dataset.sources
        if source.kind != "drop"
    ]


def queue_runs(
    instance: dg.DagsterInstance, requests: list[tuple[str, str, str, str]], workspace_file: Path
) -> list[str]:
    """Create and submit one run per request through the workspace, as ``dagster job launch`` does;
    with the queued run coordinator they wait for the daemon. Uses dagster's CLI helpers (pinned
    dagster: the code location is loaded once for all the runs instead of once per command)."""
    from dagster._cli.job import _create_run  # the body of `dagster job launch`
    from dagster._cli.workspace.cli_target import WorkspaceOpts, get_workspace_from_cli_opts
    from dagster.version import __version__

    opts = WorkspaceOpts(workspace=(str(workspace_file),))
    run_ids = []
    with get_workspace_from_cli_opts(instance, version=__version__, workspace_opts=opts) as workspace:
        location = workspace.get_code_location("territoire")
        (repository,) = location.get_repositories().values()
        for job_name, producer, dataset_id, host in requests:
            run = _create_run(
                instance=instance,
                code_location=location,
                remote_repo=repository,
                remote_job=repository.get_full_job(job_name),
                run_config={},
                tags={
                    "dagster/partition": producer,
                    "territoire/partition": f"{dataset_id}/{producer}",
                    "territoire/dataset": dataset_id,
                    HOST_TAG: host,
                },
                op_selection=None,
                run_id=None,
            )
            instance.submit_run(run.run_id, workspace)
            run_ids.append(run.run_id)
    return run_ids


def wait_until_published(
    instance: dg.DagsterInstance, registry: Registry, expected_runs: int, timeout: float
) -> list[str]:
    """Until the sensors have requested their runs, no run is queued or running, and every dataset
    that was ingested has its ``published`` asset materialised after its last ingest — or, a run having
    failed, until the instance stayed idle for a few automation ticks with nothing left to publish.
    Returns the ids of every run the instance holds."""
    deadline = time.monotonic() + timeout
    last_report = 0.0
    idle_since: float | None = None
    while True:
        runs = instance.get_runs()
        active = [r for r in runs if not r.is_finished]
        failed = [r.run_id for r in runs if r.is_finished and r.status != dg.DagsterRunStatus.SUCCESS]
        stale = []
        now = time.monotonic()
        if len(runs) >= expected_runs and not active:
            idle_since = idle_since or now
            for dataset in registry.datasets.values():
                ingested = instance.get_latest_materialization_event(asset_key(dataset, "harmonised"))
                published = instance.get_latest_materialization_event(asset_key(dataset, "published"))
                if ingested is not None and (published is None or published.timestamp < ingested.timestamp):
                    stale.append(dataset.id)
            if not stale or (failed and now - idle_since > IDLE_AFTER_FAILURE):
                if failed:
                    log(f"{len(failed)} run(s) did not succeed: {', '.join(failed)}; unpublished: {stale}")
                return [r.run_id for r in runs]
        else:
            idle_since = None
        if now > deadline:
            raise RuntimeError(
                f"not done after {timeout:.0f} s: {len(runs)} runs, {len(active)} active, "
                f"waiting for publication of {stale}"
            )
        if now - last_report > 30:
            done = sum(1 for r in runs if r.is_finished)
            log(
                f"{len(runs)} runs ({done} finished, {len(failed)} failed, {len(active)} active), "
                f"awaiting publication: {stale}"
            )
            last_report = now
        time.sleep(3)


def run_cluster(home: Path, workers: int, timeout: float, stack: ExitStack) -> tuple[int, dict, dict]:
    """The demo territory through the daemon and the Celery workers; (runs, steps per host, facts)."""
    from pipelines.feeds import write_demo_feeds
    from resources.harvest.replay_server import ReplayServer
    from resources.postgres_server import ensure_server, stop_server
    from resources.store import Store

    fresh_home(home)
    env = base_environment(home)
    done = subprocess.run(
        [str(BIN / "territoire"), "demo"], env=env, cwd=REPO, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"territoire demo failed:\n{done.stdout}{done.stderr}")
    ensure_server(home)
    stack.callback(stop_server, home)
    pg_port = int((home / "postgres" / "port").read_text())
    password = (home / "postgres" / "password").read_text().strip()
    with psycopg.connect(
        host="127.0.0.1", port=pg_port, user="postgres", password=password, dbname="postgres", autocommit=True
    ) as conn:
        conn.execute(f"CREATE DATABASE {INSTANCE_DB}")

    cluster = Cluster(home)
    stack.callback(cluster.stop)
    if not reachable("127.0.0.1", BROKER_PORT):
        # The machine's Redis is down or absent: one of our own, on loopback only, for the demo.
        cluster.start(
            "redis", ["redis-server", "--port", str(BROKER_PORT), "--bind", "127.0.0.1", "--save", ""], {}
        )
        wait_for_port("127.0.0.1", BROKER_PORT)
    network = Network()
    stack.callback(network.down)
    stack.callback(cluster.stop)  # again, so workers and daemon stop before their network goes (idempotent)
    hosts = network.up(workers)
    network.relay(pg_port)
    network.relay(BROKER_PORT)
    # The operators' demo feeds are served on the bridge address itself: that is where an operator's
    # server would be, and the CKAN package then names its resource at the address the workers use.
    routes, sql_url = write_demo_feeds(home / "feeds")
    feeds = ReplayServer(routes, host=BRIDGE_ADDRESS).start()
    stack.callback(feeds.stop)
    feeds_port = int(feeds.base_url.rsplit(":", 1)[1])
    for host in hosts:
        for port in (pg_port, BROKER_PORT, feeds_port):
            if not network.reaches(host, BRIDGE_ADDRESS, port):
                raise RuntimeError(f"{host.hostname} does not reach {BRIDGE_ADDRESS}:{port}")
    log(f"{len(hosts)} worker hosts on {BRIDGE_ADDRESS}/24: " + ", ".join(h.address for h in hosts))

    dagster_home = home / "dagster"
    dagster_home.mkdir()
    shutil.copyfile(REPO / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    credentials = f"postgres:{password}@{BRIDGE_ADDRESS}:{pg_port}"
    env |= {
        "DAGSTER_HOME": str(dagster_home),
        # psycopg2 for Dagster's storage (its NOTIFY takes no bound parameter under psycopg 3).
        "TERRITOIRE_INSTANCE_URL": f"postgresql+psycopg2://{credentials}/{INSTANCE_DB}",
        "TERRITOIRE_WAREHOUSE_URL": f"postgresql+psycopg://{credentials}/territoire",
        "TERRITOIRE_FEEDS_URL": feeds.base_url,
        "TERRITOIRE_OPERATOR_DB_URL": sql_url,
        "TERRITOIRE_EXECUTOR": "celery",
        "TERRITOIRE_CELERY_BROKER": f"redis://{BRIDGE_ADDRESS}:{BROKER_PORT}/0",
        "TERRITOIRE_CELERY_BACKEND": f"redis://{BRIDGE_ADDRESS}:{BROKER_PORT}/1",
        "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "deploy" / "celery")]),
    }
    os.environ.update(env)  # this process reads the same instance and warehouse as its children

    from resources.warehouse import Warehouse

    Warehouse(url=env["TERRITOIRE_WAREHOUSE_URL"]).setup()
    for host in hosts:
        cluster.start_worker(host, env)
    wait_for_workers(env, hosts)

    # The code location is served by a code server of its own, as a deployment runs it (a service
    # beside the daemon): the daemon and this process only connect to it, and it launches the runs.
    code_port = free_port()
    cluster.start(
        "code-server",
        [
            str(BIN / "dagster"),
            "api",
            "grpc",
            "-m",
            "deploy.code_location",
            "-h",
            "127.0.0.1",
            "-p",
            str(code_port),
        ],
        env,
    )
    workspace = home / "workspace.yaml"
    workspace.write_text(
        "load_from:\n  - grpc_server:\n      host: 127.0.0.1\n"
        f"      port: {code_port}\n      location_name: territoire\n"
    )
    wait_for_port("127.0.0.1", code_port, timeout=600)

    registry = load_registry()
    instance = stack.enter_context(dg.DagsterInstance.get())
    harvests = harvested_partitions(registry)
    dropped = Store(home=str(home)).pending_inboxes()
    started = time.monotonic()
    queue_runs(instance, harvests, workspace)
    log(f"{len(harvests)} harvest runs queued; {len(dropped)} inboxes left to the inbox sensor")
    cluster.start("dagster-daemon", [str(BIN / "dagster-daemon"), "run", "-w", str(workspace)], env)
    run_ids = wait_until_published(instance, registry, len(harvests) + len(dropped), timeout)
    log(f"{len(run_ids)} runs done in {time.monotonic() - started:.0f} s")
    hosts_steps = steps_per_host(instance, run_ids)
    facts = warehouse_facts(env["TERRITOIRE_WAREHOUSE_URL"])
    return len(run_ids), hosts_steps, facts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=REPO / "var" / "cluster-demo")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds for the cluster's runs")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        log("network namespaces need root: run it as root")
        return 2
    # SIGTERM (a CI stop) unwinds like Ctrl-C, so the ExitStack stops what was started.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    root = args.root.resolve()
    with ExitStack() as stack:
        single = run_single_process(root / "single", stack)
        runs, hosts, cluster = run_cluster(root / "cluster", args.workers, args.timeout, stack)
    line = summary(runs, hosts, cluster, single)
    if not same_territory(cluster, single):
        for key in sorted(set(cluster["batches"]) | set(single["batches"])):
            if cluster["batches"].get(key) != single["batches"].get(key):
                log(
                    f"batches differ for {key}: {cluster['batches'].get(key)} vs {single['batches'].get(key)}"
                )
        for key in sorted(set(cluster["published"]) | set(single["published"])):
            mine, reference = cluster["published"].get(key), single["published"].get(key)
            if mine != reference:
                log(f"published {key} differs: {mine} vs {reference}")
    print(json.dumps(line, ensure_ascii=False))
    ok = len(hosts) >= 2 and line["conservation"] and line["identical_to_single_process"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
