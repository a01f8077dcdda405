"""HTTP download against a real server on loopback: validators, 304, retries, timeouts, size caps."""

from __future__ import annotations

import hashlib
import socket
import time
from collections.abc import Iterator

import pytest
from conftest import REFERENCE

from resources.harvest import USER_AGENT, HarvestError, HttpPolicy, harvest, mask_url
from resources.harvest.http import fetch
from resources.harvest.replay_server import (
    ReplayServer,
    endless_route,
    file_route,
    flaky_route,
    slow_route,
    status_route,
)

CSV = REFERENCE / "real-world-subventions" / "DEP_Nievre_CD58_SUBVENTIONS_2016_LISTE.csv"
FAST = HttpPolicy(timeout=2, max_bytes=1 << 20, retries=2, backoff=0.01)


@pytest.fixture()
def server() -> Iterator[ReplayServer]:
    csv = file_route(CSV, "text/csv; charset=utf-8")
    routes = {
        "/file.csv": csv,
        "/download": file_route(CSV, "text/csv", file_name="subventions 2016.csv"),
        "/flaky.csv": flaky_route(2, csv),
        "/down.csv": flaky_route(100, csv),
        "/missing.csv": status_route(404, "no such file"),
        "/slow.csv": slow_route(3, csv),
        "/endless.csv": endless_route(),
        "/announced.csv": endless_route(declare_length=50 << 20),
        "/export": file_route(CSV, "text/csv"),
    }
    with ReplayServer(routes) as replay:
        yield replay


def test_download_keeps_bytes_and_validators(server: ReplayServer) -> None:
    got = fetch(server.url("/file.csv"), policy=FAST)
    assert got.content == CSV.read_bytes()
    assert got.sha256 == hashlib.sha256(CSV.read_bytes()).hexdigest()
    assert got.file_name == "file.csv"
    assert got.media_type == "text/csv"
    assert got.etag and got.etag.startswith('"')
    assert got.last_modified == "Tue, 14 Nov 2023 22:13:20 GMT"
    assert not got.not_modified
    assert got.source_url == server.url("/file.csv")
    assert server.requests[-1].headers["user-agent"] == "territoire/0.1 (+Tours Metropole open data platform)"
    assert USER_AGENT.startswith("territoire/0.1 (+Tours Métropole")


def test_unchanged_file_answers_304_with_etag(server: ReplayServer) -> None:
    first = fetch(server.url("/file.csv"), policy=FAST)
    again = fetch(server.url("/file.csv"), policy=FAST, previous=first.__dict__)
    assert server.requests[-1].headers["if-none-match"] == first.etag
    assert again.not_modified and again.content == b""
    assert again.sha256 == first.sha256 and again.etag == first.etag


def test_unchanged_file_answers_304_with_last_modified_only(server: ReplayServer) -> None:
    first = fetch(server.url("/file.csv"), policy=FAST)
    again = fetch(server.url("/file.csv"), policy=FAST, previous={"last_modified": first.last_modified})
    assert "if-none-match" not in server.requests[-1].headers
    assert again.not_modified


def test_changed_etag_downloads_again_and_same_hash_is_not_modified(server: ReplayServer) -> None:
    first = fetch(server.url("/file.csv"), policy=FAST)
    again = fetch(server.url("/file.csv"), policy=FAST, previous={"etag": '"stale"', "sha256": first.sha256})
    assert again.content == first.content
    assert again.not_modified  # same bytes as last time: no new batch
    other = fetch(server.url("/file.csv"), policy=FAST, previous={"etag": '"stale"', "sha256": "0" * 64})
    assert not other.not_modified


def test_content_disposition_names_the_file(server: ReplayServer) -> None:
    assert fetch(server.url("/download"), policy=FAST).file_name == "subventions 2016.csv"
    # No name in the URL's last segment with an extension: the media type supplies it.
    assert fetch(server.url("/export"), policy=FAST).file_name == "export.csv"


def test_5xx_is_retried_until_success(server: ReplayServer) -> None:
    got = fetch(server.url("/flaky.csv"), policy=FAST)
    assert got.content == CSV.read_bytes()
    assert len(server.requests_to("/flaky.csv")) == 3


def test_5xx_gives_up_after_retries_with_backoff(server: ReplayServer) -> None:
    policy = HttpPolicy(timeout=2, retries=2, backoff=0.1)
    started = time.monotonic()
    with pytest.raises(HarvestError) as caught:
        fetch(server.url("/down.csv"), policy=policy)
    assert time.monotonic() - started >= 0.1 + 0.2  # backoff doubles: 0.1 then 0.2
    assert len(server.requests_to("/down.csv")) == 3
    assert "HTTP 500" in str(caught.value) and "3 tentatives" in str(caught.value)
    assert server.url("/down.csv") in str(caught.value)


def test_4xx_is_never_retried(server: ReplayServer) -> None:
    with pytest.raises(HarvestError, match="HTTP 404") as caught:
        fetch(server.url("/missing.csv"), policy=FAST)
    assert len(server.requests_to("/missing.csv")) == 1
    assert caught.value.url == server.url("/missing.csv")


def test_slow_server_fails_within_the_whole_download_timeout(server: ReplayServer) -> None:
    # The timeout bounds the whole download, retries included: once it is spent, nothing is retried.
    policy = HttpPolicy(timeout=0.3, retries=1, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(HarvestError, match="délai total de 0.3 s"):
        fetch(server.url("/slow.csv"), policy=policy)
    assert time.monotonic() - started < 2.5
    assert len(server.requests_to("/slow.csv")) == 1


def test_streamed_body_past_the_cap_is_aborted(server: ReplayServer) -> None:
    started = time.monotonic()
    with pytest.raises(HarvestError, match="trop volumineux : plus de 1048576 octets"):
        fetch(server.url("/endless.csv"), policy=FAST)
    assert time.monotonic() - started < 5
    assert len(server.requests_to("/endless.csv")) == 1  # a size cap is not worth a retry


def test_announced_length_past_the_cap_is_refused_before_reading(server: ReplayServer) -> None:
    with pytest.raises(HarvestError, match="52428800 octets annoncés"):
        fetch(server.url("/announced.csv"), policy=FAST)


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(HarvestError, match="connexion impossible.*2 tentatives"):
        fetch(f"http://127.0.0.1:{port}/x.csv", policy=HttpPolicy(timeout=1, retries=1, backoff=0.01))


def test_passwords_never_appear_in_messages(server: ReplayServer) -> None:
    url = server.url("/missing.csv").replace("http://", "http://agent:s3cret@") + "?apikey=k3y&year=2024"
    with pytest.raises(HarvestError) as caught:
        fetch(url, policy=FAST)
    assert "s3cret" not in str(caught.value) and "k3y" not in str(caught.value)
    assert "agent:***@" in str(caught.value) and "year=2024" in str(caught.value)
    assert mask_url("https://u:p@h/x?token=abc&a=1") == "https://u:***@h/x?token=***&a=1"


def test_dispatch_by_kind(server: ReplayServer) -> None:
    got = harvest({"kind": "http", "url": server.url("/export"), "file_name": "aides.csv"}, policy=FAST)
    assert got.file_name == "aides.csv" and got.content == CSV.read_bytes()
    with pytest.raises(HarvestError, match="type de source inconnu 'ftp'"):
        harvest({"kind": "ftp", "url": "ftp://example.org/x"})
