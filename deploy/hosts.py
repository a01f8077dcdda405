"""Worker hosts on one machine: network namespaces on a bridge, and relays to loopback services.

Each worker host is a network namespace (``ip netns``) joined to a bridge by a veth pair; it sees the
machine only through the bridge's address, as a second machine would. The broker and PostgreSQL listen
on 127.0.0.1 only, so a ``socat`` relay on the bridge address forwards each of their ports: traffic
from a worker crosses the veth link, never the host's loopback. Everything here needs root.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

BRIDGE = "terrbr0"
SUBNET = "10.219.0"
BRIDGE_ADDRESS = f"{SUBNET}.1"


@dataclass
class Host:
    """One worker host: its namespace, its address on the bridge and the host name it reports."""

    name: str
    address: str
    prefix: str = "terr"

    @property
    def netns(self) -> str:
        return f"{self.prefix}-{self.name}"

    @property
    def hostname(self) -> str:
        return f"territoire-{self.name}"

    def command(self, args: list[str]) -> list[str]:
        """``args`` run inside the namespace, under their own UTS namespace named after the host,
        so Celery's ``%h`` (and any ``socket.gethostname()``) is this host's name, not the machine's."""
        script = f'hostname {self.hostname} && exec "$@"'
        return ["ip", "netns", "exec", self.netns, "unshare", "--uts", "sh", "-c", script, "sh", *args]


@dataclass
class Network:
    """The bridge, the worker hosts and the relays; ``down()`` removes all of it, whatever was made."""

    # Another prefix, bridge and subnet give a second network beside the demo's (the tests use one).
    prefix: str = "terr"
    bridge: str = BRIDGE
    subnet: str = SUBNET
    hosts: list[Host] = field(default_factory=list)
    relays: list[subprocess.Popen] = field(default_factory=list)

    @property
    def address(self) -> str:
        """The machine's address on the bridge: where the workers find its services."""
        return f"{self.subnet}.1"

    def up(self, count: int) -> list[Host]:
        self.down()  # leftovers of an interrupted demo
        _ip("link", "add", self.bridge, "type", "bridge")
        _ip("addr", "add", f"{self.address}/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for number in range(1, count + 1):
            host = Host(f"w{number}", f"{self.subnet}.{10 + number}", self.prefix)
            outside, inside = f"{host.netns}-h", f"{host.netns}-n"
            _ip("netns", "add", host.netns)
            self.hosts.append(host)
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", outside, "master", self.bridge)
            _ip("link", "set", outside, "up")
            _ip("link", "set", inside, "netns", host.netns)
            _ip("-n", host.netns, "addr", "add", f"{host.address}/24", "dev", inside)
            _ip("-n", host.netns, "link", "set", inside, "up")
            _ip("-n", host.netns, "link", "set", "lo", "up")
        return self.hosts

    def relay(self, port: int, target_port: int | None = None) -> str:
        """Forward ``address:port`` on the bridge to ``127.0.0.1:target_port``; returns ``address:port``."""
        socat = shutil.which("socat")
        if socat is None:
            raise RuntimeError("socat is missing: apt-get install -y socat (make cluster-demo does it)")
        process = subprocess.Popen(
            [
                socat,
                f"TCP-LISTEN:{port},bind={self.address},reuseaddr,fork",
                f"TCP:127.0.0.1:{target_port or port}",
            ],
            stdin=subprocess.DEVNULL,
        )
        self.relays.append(process)
        wait_for_port(self.address, port)
        return f"{self.address}:{port}"

    def reaches(self, host: Host, address: str, port: int) -> bool:
        """Does ``host`` open a TCP connection to ``address:port`` (through its veth link)?"""
        probe = f"import socket; socket.create_connection(({address!r}, {port}), timeout=3).close()"
        done = subprocess.run(
            ["ip", "netns", "exec", host.netns, sys.executable, "-c", probe], check=False, capture_output=True
        )
        return done.returncode == 0

    def down(self) -> None:
        for process in self.relays:
            process.terminate()
        for process in self.relays:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        self.relays.clear()
        existing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
        for line in existing.splitlines():
            name = line.split()[0] if line.strip() else ""
            if name.startswith(f"{self.prefix}-w"):
                _ip("netns", "delete", name, check=False)  # deletes its veth end, hence the pair
        _ip("link", "delete", self.bridge, check=False)
        self.hosts.clear()


def reachable(address: str, port: int) -> bool:
    try:
        socket.create_connection((address, port), timeout=2).close()
        return True
    except OSError:
        return False


def wait_for_port(address: str, port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((address, port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def _ip(*args: str, check: bool = True) -> None:
    subprocess.run(["ip", *args], check=check, capture_output=not check)
