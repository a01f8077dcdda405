"""Harvesting hostile feeds: only the declared hosts, bounded in time, whatever a feed answers.

A hostile feed server runs on 127.0.0.1; a second server on 127.0.0.2 plays another internal host of
the Métropole's network (loopback addresses are all ours on Linux). Nothing here is mocked: requests
go over real sockets, names are really resolved, and the servers record what reached them.
"""

from __future__ import annotations

import ipaddress
import json
import os
import ssl
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from conftest import REFERENCE, SHARED_SCHEMAS
from typer.testing import CliRunner

from pipelines.cli import app
from pipelines.feeds import CKAN_SHOW, DAE_FILE, FEEDS_URL_VAR, ODS_BASE, start_demo_feeds
from pipelines.runner import run_pending
from quality.url_mask import mask_url, mask_urls_in
from resources.harvest import HarvestError, HttpPolicy, harvest
from resources.harvest.guard import GuardedTransport, HostPolicy, is_internal
from resources.harvest.http import fetch
from resources.harvest.replay_server import ReplayServer, Reply, Request, file_route, status_route
from resources.registry.load import load_registry
from resources.registry.location import REGISTRY_DIR
from resources.store import Store

CSV = REFERENCE / "real-world-subventions" / "DEP_Nievre_CD58_SUBVENTIONS_2016_LISTE.csv"
SECRET = b"SECRET-OF-THE-INTERNAL-HOST"
MARKUP = "[/] [bold red]boum[/] {0} %s :warning:"
SUBVENTIONS_VALID = SHARED_SCHEMAS / "scdl-subventions" / "exemple-valide.csv"
runner = CliRunner()
FAST = HttpPolicy(timeout=5, max_bytes=1 << 20, retries=1, backoff=0.01)


def redirect(location: str, status: int = 302):
    return lambda request: Reply(status, b"", {"Location": location})


def json_route(document: object):
    body = json.dumps(document).encode()
    return lambda request: Reply(200, body, {"Content-Type": "application/json"})


def raw_route(body: bytes, media_type: str = "application/json"):
    return lambda request: Reply(200, body, {"Content-Type": media_type})


def trickle_route(seconds: int, on_end: threading.Event | None = None):
    """Headers at once, then one byte a second: the slowloris a per-read timeout never stops."""

    def handle(request: Request) -> Reply:
        def body() -> Iterator[bytes]:
            try:
                yield b"a,b\n"
                for _ in range(seconds):
                    time.sleep(1)
                    yield b"1"
            finally:
                if on_end is not None:
                    on_end.set()

        return Reply(200, body(), {"Content-Type": "text/csv"})

    return handle


@pytest.fixture()
def internal() -> Iterator[ReplayServer]:
    """Another internal host, holding what must never be harvested."""
    with ReplayServer({"/secret.csv": raw_route(SECRET, "text/csv")}, host="127.0.0.2") as server:
        yield server


@pytest.fixture()
def hostile(internal: ReplayServer) -> Iterator[ReplayServer]:
    other = internal.url("/secret.csv")
    ods = "/ods/api/explore/v2.1/catalog/datasets"
    routes = {
        "/file.csv": file_route(CSV, "text/csv"),
        "/moved.csv": redirect("/file.csv", 301),
        "/to-internal.csv": redirect(other + "?token=T0K3N"),
        "/to-file.csv": redirect("file:///etc/passwd"),
        "/to-metadata.csv": redirect("http://169.254.169.254/latest/meta-data/"),
        "/loop.csv": redirect("/loop.csv"),
        "/slow.csv": trickle_route(60),
        "/markup.csv": status_route(404, MARKUP),
        "/ckan/api/3/action/package_show?id=evil": json_route(
            {
                "success": True,
                "result": {
                    "name": "evil",
                    "resources": [{"name": "donnees.csv", "format": "CSV", "url": other}],
                },
            }
        ),
        "/ckan/api/3/action/package_show?id=bomb": raw_route(b"[" * 200_000),
        f"{ods}/evil": json_route({"dataset_id": "evil", "metas": {"default": {"title": "x"}}}),
        f"{ods}/evil/exports/csv": redirect(other),
        f"{ods}/bomb": raw_route(b'{"a":' * 200_000),
        "/wfs": raw_route(b"<a>" * 100_000 + b"</a>" * 100_000, "application/xml"),
    }
    with ReplayServer(routes) as server:
        yield server


def test_redirect_within_the_declared_host_is_followed(hostile: ReplayServer) -> None:
    got = harvest({"kind": "http", "url": hostile.url("/moved.csv")}, policy=FAST)
    assert got.content == CSV.read_bytes() and got.source_url == hostile.url("/file.csv")


def test_redirect_to_another_internal_host_is_refused_before_connecting(
    hostile: ReplayServer, internal: ReplayServer
) -> None:
    with pytest.raises(HarvestError, match="hôte non autorisé 127.0.0.2") as caught:
        harvest({"kind": "http", "url": hostile.url("/to-internal.csv")}, policy=FAST)
    assert internal.requests == []
    assert "T0K3N" not in str(caught.value)


def test_allow_hosts_lets_the_registry_open_one_more_host(
    hostile: ReplayServer, internal: ReplayServer
) -> None:
    host = internal.base_url.removeprefix("http://")
    got = harvest(
        {"kind": "http", "url": hostile.url("/to-internal.csv"), "allow_hosts": [host]}, policy=FAST
    )
    assert got.content == SECRET and len(internal.requests) == 1


def test_redirect_to_another_port_of_the_same_host_is_refused(hostile: ReplayServer) -> None:
    with ReplayServer({"/x.csv": raw_route(SECRET, "text/csv")}) as neighbour:
        hostile.routes["/to-port.csv"] = redirect(neighbour.url("/x.csv"))
        with pytest.raises(HarvestError, match="hôte non autorisé"):
            harvest({"kind": "http", "url": hostile.url("/to-port.csv")}, policy=FAST)
        assert neighbour.requests == []


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/to-file.csv", "schéma « file » refusé"),
        ("/to-metadata.csv", "hôte non autorisé 169.254.169.254:80"),
        ("/loop.csv", "plus de 5 redirections"),
    ],
)
def test_hostile_redirects_fail_the_source(hostile: ReplayServer, path: str, message: str) -> None:
    with pytest.raises(HarvestError, match=message):
        harvest({"kind": "http", "url": hostile.url(path)}, policy=FAST)


def test_only_http_and_https_are_harvested() -> None:
    with pytest.raises(HarvestError, match="seules les adresses http"):
        harvest({"kind": "http", "url": "ftp://127.0.0.1/x.csv"}, policy=FAST)


def test_ckan_resource_url_to_another_host_is_refused(hostile: ReplayServer, internal: ReplayServer) -> None:
    entry = {"kind": "ckan", "url": hostile.url("/ckan"), "dataset": "evil"}
    with pytest.raises(HarvestError, match="hôte non autorisé 127.0.0.2"):
        harvest(entry, policy=FAST)
    assert internal.requests == []


def test_opendatasoft_export_sent_to_another_host_is_refused(
    hostile: ReplayServer, internal: ReplayServer
) -> None:
    entry = {"kind": "opendatasoft", "url": hostile.url("/ods"), "dataset": "evil"}
    with pytest.raises(HarvestError, match="hôte non autorisé 127.0.0.2"):
        harvest(entry, policy=FAST)
    assert internal.requests == []


def test_a_name_resolving_to_an_internal_address_is_refused_at_connect_time(
    hostile: ReplayServer,
) -> None:
    # A public source whose allowed host "localhost" resolves to loopback: the name passes the host
    # list, the address it resolves to does not, and the server never sees a request.
    port = int(hostile.base_url.rsplit(":", 1)[1])
    public = HostPolicy.for_source("https://example.org/data.csv", [f"localhost:{port}"])
    assert not public.internal_ok
    policy = HttpPolicy(timeout=5, retries=0, hosts=public)
    with pytest.raises(HarvestError, match="adresse interne"):
        fetch(f"http://localhost:{port}/file.csv", policy=policy)
    assert hostile.requests == []


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        ("127.0.0.2", True),
        ("10.1.2.3", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fd00::1", True),
        ("::ffff:127.0.0.1", True),
        ("64:ff9b::a9fe:a9fe", True),
        ("2002:7f00:1::", True),
        ("93.184.215.14", False),
        ("2606:4700:4700::1111", False),
    ],
)
def test_internal_addresses(address: str, internal: bool) -> None:
    assert is_internal(ipaddress.ip_address(address)) is internal


def test_slowloris_fails_within_the_whole_download_timeout(hostile: ReplayServer) -> None:
    # One byte a second never trips a per-read timeout; the source's deadline does. Without it this
    # download would last the 60 s the server trickles for.
    policy = HttpPolicy(timeout=2, retries=3, backoff=0.01)
    started = time.monotonic()
    with pytest.raises(HarvestError, match="délai total de 2 s"):
        harvest({"kind": "http", "url": hostile.url("/slow.csv")}, policy=policy)
    assert time.monotonic() - started < 30
    assert len(hostile.requests_to("/slow.csv")) == 1


@pytest.mark.parametrize(
    "entry",
    [
        {"kind": "ckan", "url": "/ckan", "dataset": "bomb"},
        {"kind": "opendatasoft", "url": "/ods", "dataset": "bomb"},
    ],
    ids=["ckan-200000-brackets", "ods-200000-objects"],
)
def test_nesting_bombs_are_a_clean_harvest_failure(hostile: ReplayServer, entry: dict) -> None:
    entry = {**entry, "url": hostile.url(entry["url"])}
    with pytest.raises(HarvestError, match="imbriquée trop profondément"):
        harvest(entry, policy=FAST)


def test_deeply_nested_xml_is_a_clean_harvest_failure(hostile: ReplayServer) -> None:
    with pytest.raises(HarvestError, match="absent des capacités"):
        harvest({"kind": "wfs", "url": hostile.url("/wfs"), "type_name": "x:y"}, policy=FAST)


def test_markup_from_a_feed_is_kept_as_text(hostile: ReplayServer) -> None:
    with pytest.raises(HarvestError) as caught:
        harvest({"kind": "http", "url": hostile.url("/markup.csv")}, policy=FAST)
    assert MARKUP in str(caught.value)


def test_secrets_are_masked_in_every_message(hostile: ReplayServer, internal: ReplayServer) -> None:
    url = hostile.url("/to-internal.csv").replace("http://", "http://agent:s3cr3t@")
    with pytest.raises(HarvestError) as caught:
        harvest({"kind": "http", "url": url + "?apikey=K3Y&jeton=J3TON&annee=2024"}, policy=FAST)
    message = str(caught.value)
    for secret in ("s3cr3t", "K3Y", "J3TON", "T0K3N"):
        assert secret not in message
    assert "agent:***@" in message and "annee=2024" in message


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://u:p@h/x?token=abc&a=1", "https://u:***@h/x?token=***&a=1"),
        ("https://ghp_abc@h/x", "https://***@h/x"),
        (
            "postgresql+psycopg://owner:pw@db:5432/t?sslmode=require",
            "postgresql+psycopg://owner:***@db:5432/t?sslmode=require",
        ),
        ("postgresql://owner@/t?host=/run/pg", "postgresql://owner@/t?host=/run/pg"),
        (
            "https://s3/x?X-Amz-Signature=s&X-Amz-Credential=c&accessKey=k&sig=g&annee=2024",
            "https://s3/x?X-Amz-Signature=***&X-Amz-Credential=***&accessKey=***&sig=***&annee=2024",
        ),
        (
            "https://h/x?api_key=1&passwd=2&pwd=3&jeton=4&mdp=5&secret=6",
            "https://h/x?api_key=***&passwd=***&pwd=***&jeton=***&mdp=***&secret=***",
        ),
        ("https://h/cb#access_token=abc&state=1", "https://h/cb#access_token=***&state=1"),
        ("https://h:notaport/x", "<URL illisible>"),
        ("sqlite:////srv/operateur.db", "sqlite:////srv/operateur.db"),
        ("sqlite:///x.db?password=p", "sqlite:///x.db?password=***"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


def test_urls_in_free_text_are_masked() -> None:
    text = "échec (https://a:b@h/x?key=z), puis postgresql://u:pw@db/t."
    assert mask_urls_in(text) == "échec (https://a:***@h/x?key=***), puis postgresql://u:***@db/t."


# -- the whole run ------------------------------------------------------------------------------------


def _registry_with_slow_hospital(tmp_path: Path) -> Path:
    """The shipped registry, the hospital's feed moved to a host of its own (``${SLOW_FEED_URL}``)."""
    folder = tmp_path / "registry"
    folder.mkdir()
    for path in REGISTRY_DIR.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        (folder / path.name).write_text(
            text.replace(f"${{{FEEDS_URL_VAR}}}{DAE_FILE}", f"${{SLOW_FEED_URL}}{DAE_FILE}"), encoding="utf-8"
        )
    assert "SLOW_FEED_URL" in (folder / "datasets.yaml").read_text(encoding="utf-8")
    return folder


@pytest.mark.slow
def test_a_run_against_hostile_feeds(
    home: Path, fresh_pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, internal: ReplayServer
) -> None:
    """One run where the operators' feeds misbehave every way at once: each failing source is listed
    with its reason, the others and the communes' drops are loaded, the platform does not fail, and
    nothing of the internal host nor any credential reaches the archive, the warehouse or a report."""
    monkeypatch.setenv("TERRITOIRE_WAREHOUSE_URL", fresh_pg_url)
    monkeypatch.setenv("TERRITOIRE_HARVEST_TIMEOUT", "3")
    monkeypatch.setenv("TERRITOIRE_HARVEST_RETRIES", "1")
    monkeypatch.setenv("TERRITOIRE_HARVEST_BACKOFF", "0.01")
    registry = load_registry(_registry_with_slow_hospital(tmp_path))
    Store(home=str(home)).drop("tours", "subventions", SUBVENTIONS_VALID)
    slow_started, slow_ended = threading.Event(), threading.Event()
    seen_while_slow: list[bool] = []

    def gtfs_watched(then):
        def handle(request: Request) -> Reply:
            seen_while_slow.append(slow_started.is_set() and not slow_ended.is_set())
            return then(request)

        return handle

    def slow(request: Request) -> Reply:
        slow_started.set()
        return trickle_route(60, on_end=slow_ended)(request)

    with start_demo_feeds(home) as feeds, ReplayServer({DAE_FILE: slow}, host="127.0.0.3") as slow_host:
        # Credentials in the feeds' address, as an operator's portal may require (the server ignores them).
        os.environ[FEEDS_URL_VAR] = feeds.base_url.replace("http://", "http://agent:s3cr3t@")
        os.environ["SLOW_FEED_URL"] = slow_host.base_url
        try:
            routes = feeds.server.routes
            routes[CKAN_SHOW] = json_route(
                {
                    "success": True,
                    "result": {
                        "name": "equipements",
                        "resources": [
                            {"name": "batiments.csv", "format": "CSV", "url": internal.url("/secret.csv")}
                        ],
                    },
                }
            )
            routes[ODS_BASE] = raw_route(b"[" * 200_000)
            routes["/wfs/mobilites"] = status_route(400, MARKUP)
            routes["/gtfs/mobilites-touraine.zip"] = gtfs_watched(routes["/gtfs/mobilites-touraine.zip"])
            outcome = run_pending(registry, home)
        finally:
            os.environ.pop("SLOW_FEED_URL", None)

    failures = dict(f.split(" : ", 1) for f in outcome.harvest_failures)
    assert outcome.failed == [], outcome.failed
    assert set(failures) == {
        "dae/chu-tours",
        "equipements/universite-tours",
        "stationnement-cyclable/tourisme-tours",
        "stationnement-cyclable/mobilites-touraine",
    }
    assert "délai total de 3 s" in failures["dae/chu-tours"]
    assert "hôte non autorisé 127.0.0.2" in failures["equipements/universite-tours"]
    assert "imbriquée trop profondément" in failures["stationnement-cyclable/tourisme-tours"]
    assert MARKUP in failures["stationnement-cyclable/mobilites-touraine"]
    loaded = {(b["dataset"], b["producer"]) for b in outcome.batches}
    assert {("subventions", "tours"), ("arrets-transport", "mobilites-touraine")} <= loaded
    assert ("fontaines-eau", "eau-metropole") in loaded
    # The other host's feed was fetched while the slow one was still trickling: hosts run side by side.
    assert seen_while_slow == [True]

    assert internal.requests == []
    everything = b"".join(p.read_bytes() for p in home.rglob("*") if p.is_file())
    assert SECRET not in everything and b"s3cr3t" not in everything
    engine = sa.create_engine(fresh_pg_url)
    with engine.connect() as conn:
        batches = conn.execute(sa.text("select * from meta.batches")).mappings().all()
        harvested = conn.execute(
            sa.text("select source_url from meta.batches where producer = 'mobilites-touraine'")
        ).scalars()
        assert all("agent:***@" in url for url in harvested)
    engine.dispose()
    assert "s3cr3t" not in repr(batches) and SECRET.decode() not in repr(batches)
    assert not any(b["producer"] == "universite-tours" for b in batches)


def test_the_cli_prints_what_feeds_answer_as_text(
    home: Path, fresh_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Markup in a feed's answer is printed as written (it used to crash the CLI); failed feeds exit 0."""
    monkeypatch.setenv("TERRITOIRE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    monkeypatch.setenv("TERRITOIRE_WAREHOUSE_URL", fresh_pg_url)
    monkeypatch.setenv("TERRITOIRE_HARVEST_RETRIES", "0")
    with start_demo_feeds(home) as feeds:
        for path in ("/wfs/mobilites", f"{ODS_BASE}/exports/csv"):
            feeds.server.routes[path] = status_route(400, MARKUP)
        result = runner.invoke(app, ["run", "--dataset", "stationnement-cyclable"])
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())  # long lines wrap
    assert output.count("collecte en échec") == 2
    assert output.count(MARKUP) == 2


def test_tls_verifies_the_name_while_connecting_to_the_checked_address(tmp_path: Path) -> None:
    """The socket goes to the address the guard resolved and checked; the certificate is still
    verified against the URL's host name, not against that address."""
    cert, key = _self_signed("localhost", tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert, key)
    with ReplayServer({"/file.csv": file_route(CSV, "text/csv")}, tls=server_context) as server:
        port = int(server.base_url.rsplit(":", 1)[1])
        trusting = ssl.create_default_context(cafile=str(cert))
        by_name = f"https://localhost:{port}/file.csv"
        transport = GuardedTransport(HostPolicy.for_source(by_name), time.monotonic() + 30, trusting)
        with httpx.Client(transport=transport) as client:
            with client.stream("GET", by_name) as response:
                peer = response.extensions["network_stream"].get_extra_info("server_addr")
                assert peer[0] == "127.0.0.1" and response.read() == CSV.read_bytes()
        by_address = f"https://127.0.0.1:{port}/file.csv"
        transport = GuardedTransport(HostPolicy.for_source(by_address), time.monotonic() + 30, trusting)
        with httpx.Client(transport=transport) as client, pytest.raises(httpx.ConnectError, match="mismatch"):
            client.get(by_address)


def _self_signed(name: str, folder: Path) -> tuple[Path, Path]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path
