"""A real HTTP server on loopback that replays recorded producer responses.

The harvest tests and ``make demo`` need producers' servers without the internet: this serves the
real responses kept in ``/work/shared/reference`` (CKAN, OpenDataSoft, WFS, GTFS) over real HTTP on
127.0.0.1, with ETag/Last-Modified (answering 304), and with failure routes (a 500 before success, a
404, a slow answer, an endless body) so retries, timeouts and size caps are exercised for real.

Recorded API documents name their original hosts (``https://demo.ckan.org/...``); a route can rewrite
those hosts to the replay server at answer time, so the client code follows the links unmodified.

    with ReplayServer(reference_routes(REFERENCE)) as server:
        harvest({"kind": "ckan", "url": server.url("/ckan"), ...})

``python -m resources.harvest.replay_server --port 8765`` serves :func:`reference_routes` for the demo.
"""

from __future__ import annotations

import hashlib
import json
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit


@dataclass(frozen=True)
class Request:
    """What the server received, recorded so tests can check what a client actually asked."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    base_url: str


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)


Route = Callable[[Request], Reply]

# A fixed date so replayed validators are stable across checkouts (file mtimes are not).
RECORDED_AT = 1_700_000_000.0


def file_route(
    path: Path,
    media_type: str,
    *,
    rewrite_hosts: Iterable[str] = (),
    file_name: str | None = None,
    modified_at: float = RECORDED_AT,
) -> Route:
    """Serve a file with ETag and Last-Modified; answer 304 to a matching conditional request."""

    def handle(request: Request) -> Reply:
        body = path.read_bytes()
        for host in rewrite_hosts:
            body = body.replace(host.encode(), request.base_url.encode())
        etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
        headers = {
            "Content-Type": media_type,
            "ETag": etag,
            "Last-Modified": formatdate(modified_at, usegmt=True),
        }
        if file_name:
            headers["Content-Disposition"] = f'attachment; filename="{file_name}"'
        if request.headers.get("if-none-match") == etag:
            return Reply(304, b"", headers)
        since = request.headers.get("if-modified-since")
        if since and "if-none-match" not in request.headers:
            try:
                if parsedate_to_datetime(since).timestamp() >= int(modified_at):
                    return Reply(304, b"", headers)
            except (TypeError, ValueError):
                pass
        return Reply(200, body, headers)

    return handle


def status_route(status: int, text: str = "") -> Route:
    return lambda request: Reply(status, text.encode(), {"Content-Type": "text/plain; charset=utf-8"})


def flaky_route(failures: int, then: Route, status: int = 500) -> Route:
    """Fail ``failures`` times with ``status``, then behave like ``then``."""
    remaining = [failures]
    lock = threading.Lock()

    def handle(request: Request) -> Reply:
        with lock:
            if remaining[0] > 0:
                remaining[0] -= 1
                return Reply(status, b"try again later", {"Content-Type": "text/plain"})
        return then(request)

    return handle


def slow_route(delay: float, then: Route) -> Route:
    def handle(request: Request) -> Reply:
        time.sleep(delay)
        return then(request)

    return handle


def endless_route(chunk: bytes = b"x" * 65536, declare_length: int | None = None) -> Route:
    """A body that never ends (or announces a length it then streams), to test size caps."""

    def chunks() -> Iterator[bytes]:
        while True:
            yield chunk

    def handle(request: Request) -> Reply:
        headers = {"Content-Type": "text/csv"}
        if declare_length is not None:
            headers["Content-Length"] = str(declare_length)
        return Reply(200, chunks(), headers)

    return handle


def wfs_route(capabilities: Path, layers: Mapping[str, Path]) -> Route:
    """A WFS 2.0 endpoint paging recorded GetFeature responses with ``startIndex``/``count``.

    Each layer is one recorded response (GML 3.2 or GeoJSON); a page is that response cut to the
    requested members, with ``numberReturned`` set as a server would.
    """

    def handle(request: Request) -> Reply:
        query = {k.lower(): v for k, v in request.query.items()}
        operation = query.get("request", "").lower()
        if operation == "getcapabilities":
            return Reply(200, capabilities.read_bytes(), {"Content-Type": "application/xml"})
        if operation != "getfeature":
            return Reply(
                400, _ows_exception(f"unknown request {operation!r}"), {"Content-Type": "application/xml"}
            )
        type_name = query.get("typenames") or query.get("typename") or ""
        if type_name not in layers:
            return Reply(
                400, _ows_exception(f"Unknown feature type {type_name}"), {"Content-Type": "application/xml"}
            )
        start = int(query.get("startindex", "0"))
        count = int(query["count"]) if "count" in query else None
        path = layers[type_name]
        if path.suffix in (".geojson", ".json"):
            document = json.loads(path.read_bytes())
            features = document["features"][start : None if count is None else start + count]
            page = {**document, "features": features, "numberReturned": len(features)}
            return Reply(200, json.dumps(page).encode(), {"Content-Type": "application/json"})
        return Reply(
            200, _gml_page(path.read_text(encoding="utf-8"), start, count), {"Content-Type": "text/xml"}
        )

    return handle


_MEMBER = re.compile(r"\s*<wfs:member>.*?</wfs:member>", re.DOTALL)


def _gml_page(text: str, start: int, count: int | None) -> bytes:
    members = _MEMBER.findall(text)
    first = _MEMBER.search(text)
    head = text[: first.start()] if first else text[: text.rindex("</wfs:FeatureCollection>")]
    tail = text[text.rindex("</wfs:FeatureCollection>") :]
    page = members[start : None if count is None else start + count]
    head = re.sub(r'numberReturned="[^"]*"', f'numberReturned="{len(page)}"', head, count=1)
    return (head + "".join(page) + "\n" + tail).encode("utf-8")


def _ows_exception(text: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" version="2.0.0">'
        f'<ows:Exception exceptionCode="InvalidParameterValue"><ows:ExceptionText>{text}</ows:ExceptionText>'
        "</ows:Exception></ows:ExceptionReport>"
    ).encode()


class ReplayServer:
    """A ThreadingHTTPServer on 127.0.0.1 (port 0 by default) dispatching GETs to routes.

    ``host`` may be another loopback address (``127.0.0.2``): a second "internal host" for the tests
    that check a feed cannot lead the harvest to it. With ``tls`` (a server-side SSL context) it
    answers HTTPS.

    A route key is a path, optionally with query parameters that must all be present
    (``/api/3/action/package_show?id=foo``); the most specific matching key wins.
    """

    def __init__(
        self,
        routes: Mapping[str, Route] | None = None,
        port: int = 0,
        host: str = "127.0.0.1",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.routes: dict[str, Route] = dict(routes or {})
        self.requests: list[Request] = []
        self._port = port
        self._host = host
        self._tls = tls
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "server not started"
        host, port = self._server.server_address[:2]
        return f"{'https' if self._tls else 'http'}://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> ReplayServer:
        server = ThreadingHTTPServer((self._host, self._port), _handler_for(self))
        if self._tls is not None:
            server.socket = self._tls.wrap_socket(server.socket, server_side=True)
        server.daemon_threads = True
        server.block_on_close = False  # a slow route must not hold the test run at shutdown
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="replay-server", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ReplayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def requests_to(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def route_for(self, path: str, query: Mapping[str, str]) -> Route | None:
        best: tuple[int, Route] | None = None
        for key, route in self.routes.items():
            parts = urlsplit(key)
            wanted = dict(parse_qsl(parts.query, keep_blank_values=True))
            if parts.path == path and all(query.get(k) == v for k, v in wanted.items()):
                if best is None or len(wanted) > best[0]:
                    best = (len(wanted), route)
        return best[1] if best else None


def _handler_for(replay: ReplayServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches on
            parts = urlsplit(self.path)
            request = Request(
                path=parts.path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                base_url=replay.base_url,
            )
            replay.requests.append(request)
            route = replay.route_for(request.path, request.query)
            reply = route(request) if route else Reply(404, b"not found", {"Content-Type": "text/plain"})
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if isinstance(reply.body, bytes):
                if "Content-Length" not in reply.headers:
                    self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                if reply.status != 304:
                    try:
                        self.wfile.write(reply.body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the client refused the body (too large, or past its deadline)
                return
            # Streamed body with no length: HTTP/1.0 semantics, the body ends when we close.
            self.send_header("Connection", "close")
            self.end_headers()
            try:
                for chunk in reply.body:
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up, as a size-capped client should

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
            pass

    return Handler


def reference_routes(reference: Path) -> dict[str, Route]:
    """Routes replaying the reference responses, one producer portal per path prefix.

    - ``/ckan``: CKAN Action API (demo.ckan.org) and a French DKAN (``/dkan``), resource links rewritten
      to this server; CSV resources are served from real files of the reference folder (the DKAN
      spreadsheet is not kept in the reference, so its link answers 404 unless a route is added).
    - ``/ods``: OpenDataSoft Explore v2.1 (dataset metadata and exports).
    - ``/wfs``: a WFS 2.0 endpoint paging GeoBretagne's recorded GetFeature responses.
    - ``/gtfs/frioul.zip``: a real GTFS feed.
    """
    ckan = reference / "ckan-api"
    ods = reference / "opendatasoft-api"
    wfs = reference / "wfs"
    subventions = reference / "real-world-subventions"
    csv_file = subventions / "DEP_Nievre_CD58_SUBVENTIONS_2016_LISTE.csv"
    ods_base = "/ods/api/explore/v2.1/catalog/datasets"
    return {
        # CKAN: package_show by name and by id, as CKAN accepts both.
        "/ckan/api/3/action/package_show?id=100-validated-species-of-plants": file_route(
            ckan / "demo.ckan.org-package_show.json",
            "application/json",
            rewrite_hosts=["https://demo.ckan.org"],
        ),
        "/ckan/api/3/action/package_show?id=62513382-3b26-4bc8-9096-40b6ce8383c0": file_route(
            ckan / "demo.ckan.org-package_show.json",
            "application/json",
            rewrite_hosts=["https://demo.ckan.org"],
        ),
        "/ckan/api/3/action/package_show?id=17be64bb-da74-4195-9bb8-565c39846af2": file_route(
            ckan / "demo.ckan.org-package_show-with-organization.json",
            "application/json",
            rewrite_hosts=["https://demo.ckan.org"],
        ),
        "/ckan/api/3/action/package_show": lambda request: Reply(
            404,
            json.dumps(
                {"success": False, "error": {"message": "Not found", "__type": "Not Found Error"}}
            ).encode(),
            {"Content-Type": "application/json"},
        ),
        "/dataset/62513382-3b26-4bc8-9096-40b6ce8383c0/resource/bf4d5116-634e-43f2-a41c-9ae22d362083"
        "/download/validated_100_species.csv": file_route(csv_file, "text/csv"),
        "/dataset/17be64bb-da74-4195-9bb8-565c39846af2/resource/a5cd573b-5565-48f1-9b2d-8726004cb020"
        "/download/20161231_rase.csv": file_route(
            subventions / "DEP_Somme_TB_20180302_DONNEES_CONVENTIONS.csv", "text/csv"
        ),
        "/dkan/api/3/action/package_show": file_route(
            ckan / "dkan-hautsdefrance-package_show.json",
            "application/json",
            rewrite_hosts=["https://geocatalogue.hautsdefrance.fr", "https://sig.hautsdefrance.fr"],
        ),
        # OpenDataSoft Explore API v2.1 (a v2.0-shaped document behind the second id).
        f"{ods_base}/geonames-all-cities-with-a-population-1000": file_route(
            ods / "v2.1" / "example-dataset-v2.1.json", "application/json"
        ),
        f"{ods_base}/geonames-all-cities-with-a-population-1000/exports/geojson": file_route(
            ods / "exports" / "festivals-du-finistere.geojson", "application/geo+json"
        ),
        f"{ods_base}/geonames-all-cities-with-a-population-1000/exports/csv": file_route(
            csv_file, "text/csv; charset=utf-8", file_name="geonames-all-cities-with-a-population-1000.csv"
        ),
        f"{ods_base}/fichier-fantoir-des-voies-et-lieux-dits": file_route(
            ods / "v2.0-data.economie.gouv.fr" / "catalog_dataset_fantoir.json", "application/json"
        ),
        f"{ods_base}/fichier-fantoir-des-voies-et-lieux-dits/exports/csv": file_route(csv_file, "text/csv"),
        # WFS 2.0, GML only, as GeoBretagne answered in 2015.
        "/wfs": wfs_route(
            wfs / "owslib-cuzk-wfs200-getcapabilities.xml",
            {
                "gp-urba:PRESCRIPTION_SURF": wfs / "geobretagne-wfs200-getfeature-PRESCRIPTION_SURF.gml",
                "gp-urba:INFO_PCT": wfs / "geobretagne-wfs200-getfeature-INFO_PCT.gml",
            },
        ),
        # WFS 2.0 on GeoServer, which offers GeoJSON.
        "/geoserver/wfs": wfs_route(
            wfs / "owslib-dov-geoserver-wfs200-getcapabilities.xml",
            {"gw_meetnetten:meetnetten": ods / "exports" / "festivals-du-finistere.geojson"},
        ),
        "/gtfs/frioul.zip": file_route(
            reference / "gtfs" / "frioul-if-express-marseille-gtfs.zip", "application/zip"
        ),
    }


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(
        description="Replay the reference producer feeds over HTTP on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--reference", type=Path, default=Path(__file__).resolve().parents[3] / "shared/reference"
    )
    args = parser.parse_args()
    server = ReplayServer(reference_routes(args.reference), port=args.port).start()
    print(f"replaying {args.reference} on {server.base_url} (Ctrl-C to stop)", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
