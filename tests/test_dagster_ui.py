"""What `dagster dev` shows: the webserver serves the graph and the producer partitions.

Starts the real dagster-webserver on the code location (as `make dev` does, without the daemon) and
asks its GraphQL API, the one the UI reads.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
QUERY = "{ assetNodes { assetKey { path } partitionKeys hasAssetChecks } }"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture()
def webserver(tmp_path):
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path), "TERRITOIRE_HOME": str(tmp_path / "home")}
    (tmp_path / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text())
    # Its own session, so the whole process group can be stopped: Dagster's children may ignore SIGTERM.
    process = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dagster-webserver"),
            "-w",
            str(REPO / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    deadline = time.monotonic() + 90
    try:
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail("dagster-webserver did not answer within 90 s")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


def test_ui_shows_the_asset_graph_with_producer_partitions(webserver):
    deadline = time.monotonic() + 60
    nodes = []
    while time.monotonic() < deadline and not nodes:  # the code location loads after the server answers
        data = httpx.post(webserver, json={"query": QUERY}, timeout=30).json()
        nodes = (data.get("data") or {}).get("assetNodes") or []
        if not nodes:
            time.sleep(1)
    by_key = {"/".join(n["assetKey"]["path"]): n for n in nodes}
    assert {
        "subventions/harvested",
        "subventions/harmonised",
        "subventions/territory",
        "subventions/published",
    } <= set(by_key)
    harmonised = by_key["subventions/harmonised"]
    assert "tours" in harmonised["partitionKeys"] and len(harmonised["partitionKeys"]) == 23
    assert harmonised["hasAssetChecks"]
    assert by_key["subventions/territory"]["partitionKeys"] == []


def test_ui_names_the_location_describes_in_french_and_shows_no_pop_up(webserver):
    query = (
        "{ shouldShowNux workspaceOrError { ... on Workspace { locationEntries { name } } } "
        "assetNodes { assetKey { path } description } }"
    )
    deadline = time.monotonic() + 60
    data = {}
    while time.monotonic() < deadline and not (data.get("assetNodes")):
        data = httpx.post(webserver, json={"query": query}, timeout=30).json().get("data") or {}
        if not data.get("assetNodes"):
            time.sleep(1)
    assert data["shouldShowNux"] is False
    assert [e["name"] for e in data["workspaceOrError"]["locationEntries"]] == ["territoire"]
    descriptions = {"/".join(n["assetKey"]["path"]): n["description"] for n in data["assetNodes"]}
    assert (
        descriptions["subventions/harmonised"].startswith("« ")
        and "harmonisé" in descriptions["subventions/harmonised"]
    )
    assert all(" the " not in d and " for " not in d for d in descriptions.values())
