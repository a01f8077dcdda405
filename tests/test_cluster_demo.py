"""The pieces of ``make cluster-demo`` (deploy/): what its JSON line says and how it is computed, and —
as root, with ``ip``, ``socat`` and a Redis — the simplest chain end to end: one worker host in its own
network namespace executes a Dagster step sent through the Celery executor over the bridge."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import dagster as dg
import pytest

from deploy.hosts import Host, Network, reachable
from deploy.outcome import KEYS, _totals, same_territory, steps_per_host, summary, worker_host

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def facts(batches: dict, published: dict, rows: list[tuple]) -> dict:
    return {"batches": batches, "published": published, "totals": _totals(rows)}


def test_summary_has_exactly_the_issue_keys_in_order():
    rows = [("subventions", "tours", "a.csv", "s", "loaded", 10, 8, 2)]
    one = facts({"subventions/tours": [["a.csv"]]}, {"subventions": {"rows": 8, "md5": "x"}}, rows)
    line = summary(5, {"territoire-w1": 3, "territoire-w2": 4}, one, one)
    assert (
        tuple(line)
        == KEYS
        == (
            "runs",
            "steps_per_host",
            "batches",
            "rows_read",
            "rows_accepted",
            "rows_quarantined",
            "conservation",
            "identical_to_single_process",
        )
    )
    assert line["rows_read"] == 10 and line["conservation"] is True
    assert line["identical_to_single_process"] is True


def test_conservation_and_identity_fail_when_they_should():
    broken = _totals([("d", "p", "f", "s", "loaded", 10, 8, 1)])
    assert broken["conservation"] is False
    assert _totals([])["conservation"] is False  # no batch at all is not a success
    one = facts({"d/p": [["f"]]}, {"d": {"rows": 1, "md5": "a"}}, [])
    other = facts({"d/p": [["f"]]}, {"d": {"rows": 1, "md5": "b"}}, [])
    assert not same_territory(one, other)


def test_worker_host_is_the_host_part_of_celerys_node_name():
    assert worker_host("worker@territoire-w1") == "territoire-w1"
    assert worker_host("territoire-w2") == "territoire-w2"


def test_a_host_runs_commands_in_its_namespace_under_its_own_host_name():
    host = Host("w1", "10.219.0.11")
    command = host.command(["celery", "worker"])
    assert command[:4] == ["ip", "netns", "exec", "terr-w1"]
    assert "unshare" in command and "--uts" in command
    assert "hostname territoire-w1" in " ".join(command)
    assert command[-2:] == ["celery", "worker"]


def _chain_prerequisites() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    for tool in ("ip", "unshare", "socat"):
        if shutil.which(tool) is None:
            return f"{tool} is missing"
    if not reachable("127.0.0.1", 6379):
        return "no Redis on 127.0.0.1:6379"
    return None


TRIVIAL = textwrap.dedent(
    """
    import socket
    import dagster as dg
    from dagster_celery import celery_executor

    @dg.op
    def where() -> str:
        return socket.gethostname()

    @dg.job(executor_def=celery_executor.configured(
        {"broker": {"env": "TERRITOIRE_CELERY_BROKER"}, "backend": {"env": "TERRITOIRE_CELERY_BACKEND"}}))
    def trivial():
        where()
    """
)


@pytest.mark.slow
def test_a_step_runs_on_a_worker_host_reached_over_the_bridge(tmp_path: Path):
    missing = _chain_prerequisites()
    if missing:
        pytest.skip(missing)
    # A network of its own (prefix, bridge, subnet), so a cluster demo running meanwhile keeps its own.
    network = Network(prefix="terrt", bridge="terrtbr0", subnet="10.219.7")
    worker = None
    try:
        (host,) = network.up(1)
        # Loopback inside the namespace is the namespace's own: the machine's Redis is not there.
        assert not network.reaches(host, "127.0.0.1", 6379)
        broker_port = _free_port()
        network.relay(broker_port, 6379)
        assert network.reaches(host, network.address, broker_port)

        (tmp_path / "trivial.py").write_text(TRIVIAL)
        dagster_home = tmp_path / "dagster"
        dagster_home.mkdir()
        broker = f"redis://{network.address}:{broker_port}"
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TERRITOIRE_")},
            "DAGSTER_HOME": str(dagster_home),  # SQLite on the shared filesystem, for this chain only
            "TERRITOIRE_CELERY_BROKER": f"{broker}/14",
            "TERRITOIRE_CELERY_BACKEND": f"{broker}/15",
            "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO / "deploy" / "celery")]),
        }
        log = (tmp_path / "worker.log").open("w")
        worker = subprocess.Popen(
            host.command(
                [str(BIN / "celery"), "-A", "dagster_celery.app", "worker", "-Q", "dagster",
                 "-n", "worker@%h", "--concurrency", "1", "-l", "INFO"]
            ),
            env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        done = subprocess.run(
            [str(BIN / "dagster"), "job", "execute", "-f", str(tmp_path / "trivial.py"), "-j", "trivial"],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=400,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        os.environ["DAGSTER_HOME"], saved = str(dagster_home), os.environ.get("DAGSTER_HOME")
        try:
            with dg.DagsterInstance.get() as instance:
                (run,) = instance.get_runs()
                assert run.status == dg.DagsterRunStatus.SUCCESS
                assert steps_per_host(instance, [run.run_id]) == {"territoire-w1": 1}
                output = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_OUTPUT)
                assert output, "the step ran and handed its output over"
        finally:
            if saved is None:
                os.environ.pop("DAGSTER_HOME", None)
            else:
                os.environ["DAGSTER_HOME"] = saved
    finally:
        if worker is not None:
            os.killpg(worker.pid, 15)
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, 9)
        network.down()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
