"""The cluster demo's processes: started in sessions of their own, each ended by its own id.

``Cluster`` starts the code server, the daemon and the Celery workers (a worker inside its host's
network namespace) with their output in ``<home>/cluster-logs/``; ``stop()`` ends them, then any
Python process left whose environment names the demo's home (Dagster starts run processes in
sessions of their own), and nothing else.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from deploy.hosts import Host

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def log(message: str) -> None:
    print(f"[cluster-demo] {message}", file=sys.stderr, flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """The processes of the distributed side; ``stop()`` ends each one it started, by its own pid."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.processes: list[subprocess.Popen] = []
        self.logs = home / "cluster-logs"
        self.logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, args: list[str], env: dict[str, str]) -> subprocess.Popen:
        output = (self.logs / f"{name}.log").open("w")
        # A session of its own: stop() ends the process and whatever it forked (pool, code server).
        process = subprocess.Popen(
            args, env=env, cwd=REPO, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.processes.append(process)
        return process

    def start_worker(self, host: Host, env: dict[str, str]) -> subprocess.Popen:
        args = [
            str(BIN / "celery"),
            "-A",
            "dagster_celery.app",
            "worker",
            "-Q",
            "dagster",
            "-n",
            "worker@%h",
            "--concurrency",
            "1",
            "--prefetch-multiplier",
            "1",
            "-l",
            "INFO",
            # Loaded once before the pool forks: each step then finds the code location imported.
            "-I",
            "deploy.code_location",
        ]
        return self.start(host.hostname, host.command(args), env)

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                try:
                    os.killpg(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for process in reversed(self.processes):
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                process.wait(timeout=5)
        self.processes.clear()
        # Dagster starts some processes in sessions of their own (run processes of a code server): end
        # any process left whose environment names this demo's home, and only those.
        marker = f"TERRITOIRE_HOME={self.home}".encode()
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == os.getpid():
                continue
            try:
                python = b"python" in (entry / "cmdline").read_bytes()
                if python and marker in (entry / "environ").read_bytes().split(b"\0"):
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ValueError):
                continue


def wait_for_workers(env: dict[str, str], hosts: list[Host], timeout: float = 120) -> None:
    """Until every worker answers Celery's ping through the broker."""
    expected = {f"worker@{host.hostname}" for host in hosts}
    deadline = time.monotonic() + timeout
    while True:
        done = subprocess.run(
            [str(BIN / "celery"), "-A", "dagster_celery.app", "inspect", "ping", "--timeout", "3"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
        )
        seen = {name for name in expected if name in done.stdout}
        if seen == expected:
            log(f"workers ready: {', '.join(sorted(seen))}")
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"workers not ready after {timeout:.0f} s: only {sorted(seen)}")
        time.sleep(2)
