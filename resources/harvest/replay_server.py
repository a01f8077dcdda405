"""A real HTTP server on loopback that replays recorded producer responses.

The harvest tests and ``make demo`` need producers' servers without the internet: this serves the
real responses kept in ``/work/shared/reference`` (CKAN, OpenDataSoft, WFS, GTFS) over real HTTP on
127.0.0.1, with ETag/Last-Modified (answering 304), and with failure routes (a 500 before success, a
404, a slow answer, an endless body) so retries, timeouts and size caps are exercised for real.

Recorded API documents name their original hosts (``https://demo.ckan.org/...``); a route can rewrite
those hosts to the replay server at answer time, so the client code follows the links unmodified.

    with ReplayServer(reference_routes(REFERENCE)) as server:
        harvest({"kind": "ckan", "url": server.url("/ckan"), ...})

The routes of the recorded reference portals are in :mod:`resources.harvest.replay_reference`.
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
