"""Where a harvest may connect, and for how long: the guard between a feed and the Métropole's network.

A source reaches only the host and port of its declared URL, plus the hosts its registry entry lists
under ``allow_hosts:`` (``"cdn.example.org"`` for its default ports 80/443, ``"cdn.example.org:8443"``
for one port). Anything a feed hands us — a redirect, a CKAN resource URL, a WFS paging link — is
checked against that list before any connection. Addresses that are not public (loopback, private,
link-local, unspecified, multicast, reserved, shared…) are refused, unless the declared URL itself
points at such an address (the demo's loopback feeds, an intranet GeoServer).

The address check is made where the socket is opened: :class:`GuardedBackend` is the httpcore network
backend of every harvest client; it resolves the name once, checks every address it got, and connects
to one of those very addresses. There is no second resolution an attacker's DNS could answer
differently (rebinding). TLS still verifies the certificate against the host name, since httpcore
passes the URL's host as the SNI/verification name, not the address we connected to.

The same backend enforces the source's deadline: every socket read, write and TLS handshake gets at
most the time left before the deadline, so a feed trickling one byte a second fails on time
(``TERRITOIRE_HARVEST_TIMEOUT`` bounds the whole download, not each read).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import httpcore
import httpx

from resources.harvest.errors import HarvestError

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 5
# Deciding whether the declared host is internal happens before the source's deadline starts.
RESOLVE_SECONDS = 10.0
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class DeadlineExceeded(httpcore.TimeoutException):
    """The source's whole-download deadline passed (httpx maps it to a timeout, as a read timeout)."""


def _host_port(url: str) -> tuple[str, str, int]:
    """(scheme, ASCII host, port) of ``url``, as httpcore will connect to it."""
    parsed = httpx.URL(url)
    scheme = parsed.scheme.lower()
    host = parsed.raw_host.decode("ascii").lower().rstrip(".")
    return scheme, host, parsed.port or DEFAULT_PORTS.get(scheme, 0)


def is_internal(address: Address) -> bool:
    """Not a public unicast address: loopback, private, link-local, unspecified, multicast, reserved…"""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour or (address.teredo or (None, None))[1]
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and is_internal(embedded):
            return True
    return (
        address.is_loopback
        or address.is_private
        or address.is_link_local
        or address.is_unspecified
        or address.is_multicast
        or address.is_reserved
        or not address.is_global
    )


def resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to (an IP literal is itself), in the resolver's order."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[Address] = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def resolve_within(host: str, port: int, seconds: float) -> list[Address]:
    """:func:`resolve`, given up after ``seconds``: getaddrinfo has no timeout of its own, and a dead
    resolver would otherwise hold the source past its deadline."""
    outcome: dict[str, Any] = {}

    def work() -> None:
        try:
            outcome["addresses"] = resolve(host, port)
        except OSError as exc:
            outcome["error"] = exc

    worker = threading.Thread(target=work, name=f"resolve-{host}", daemon=True)
    worker.start()
    worker.join(max(0.0, seconds))
    if worker.is_alive():
        raise DeadlineExceeded(f"résolution du nom {host} trop longue")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["addresses"]


@dataclass(frozen=True)
class HostPolicy:
    """The hosts one source may reach, and whether internal addresses are among them."""

    declared: str
    origins: frozenset[tuple[str, int]]
    internal_ok: bool

    @classmethod
    def for_source(cls, url: str, allow_hosts: Iterable[str] = ()) -> HostPolicy:
        try:
            scheme, host, port = _host_port(url)
        except (httpx.InvalidURL, UnicodeError) as exc:
            raise HarvestError(url, f"URL invalide ({exc})") from None
        if scheme not in DEFAULT_PORTS or not host:
            raise HarvestError(url, "seules les adresses http:// et https:// avec un hôte sont moissonnées")
        origins = {(host, port)}
        if port == DEFAULT_PORTS[scheme]:
            # The same site moving from http to https (or back) is the commonest redirect of all.
            origins |= {(host, p) for p in DEFAULT_PORTS.values()}
        for allowed in allow_hosts:
            name, _, explicit = str(allowed).strip().lower().rpartition(":")
            if not name or not explicit.isdigit():  # no port given (or an IPv6 literal's last group)
                name = str(allowed).strip().lower().strip("[]")
                origins |= {(name.rstrip("."), p) for p in DEFAULT_PORTS.values()}
            else:
                origins.add((name.strip("[]").rstrip("."), int(explicit)))
        try:
            internal_ok = any(is_internal(a) for a in resolve_within(host, port, RESOLVE_SECONDS))
        except (OSError, DeadlineExceeded):
            internal_ok = False  # the connection will fail and say so; nothing internal is allowed meanwhile
        return cls(declared=f"{host}:{port}", origins=frozenset(origins), internal_ok=internal_ok)

    def check_url(self, url: str) -> None:
        """Refuse, before connecting, a URL of another scheme or of a host the source did not declare."""
        try:
            scheme, host, port = _host_port(url)
        except (httpx.InvalidURL, UnicodeError) as exc:
            raise HarvestError(url, f"URL invalide ({exc})") from None
        if scheme not in DEFAULT_PORTS:
            raise HarvestError(url, f"schéma « {scheme} » refusé : seuls http et https sont moissonnés")
        self.check_origin(host, port, url)

    def check_origin(self, host: str, port: int, url: str | None = None) -> None:
        if (host.lower().rstrip("."), port) not in self.origins:
            raise HarvestError(
                url or f"{host}:{port}",
                f"hôte non autorisé {host}:{port} refusé avant toute connexion : cette source ne peut "
                f"joindre que {self.declared} et les hôtes listés dans « allow_hosts » de sa déclaration",
            )

    def check_addresses(self, host: str, port: int, addresses: list[Address]) -> None:
        if not addresses:
            raise HarvestError(f"{host}:{port}", "le nom d'hôte ne se résout en aucune adresse")
        if self.internal_ok:
            return
        refused = [str(a) for a in addresses if is_internal(a)]
        if refused:
            raise HarvestError(
                f"{host}:{port}",
                f"connexion refusée : {host} désigne une adresse interne ({', '.join(refused)}) alors que "
                "la source déclarée est publique",
            )


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every operation waits at most until the source's deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float) -> None:
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise DeadlineExceeded("délai total de la moisson dépassé")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None, timeout: float | None = None):
        tls = self._inner.start_tls(ssl_context, server_hostname, self._left(timeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """Resolve once, check the host and every address, connect to a checked address, within the deadline."""

    def __init__(self, hosts: HostPolicy, deadline: float) -> None:
        self._hosts = hosts
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        self._hosts.check_origin(host, port)
        try:
            addresses = resolve_within(host, port, self._deadline - time.monotonic())
        except OSError as exc:
            raise httpcore.ConnectError(f"nom d'hôte introuvable : {host} ({exc})") from exc
        self._hosts.check_addresses(host, port, addresses)
        failure: Exception | None = None
        for address in addresses:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise DeadlineExceeded("délai total de la moisson dépassé")
            try:
                stream = self._inner.connect_tcp(
                    str(address),
                    port,
                    timeout=left if timeout is None else min(timeout, left),
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        assert failure is not None
        raise failure

    def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        raise HarvestError(str(args[0]) if args else "?", "connexion par socket Unix refusée")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class GuardedTransport(httpx.HTTPTransport):
    """httpx's own transport, its connection pool built on :class:`GuardedBackend`.

    httpx does not expose httpcore's ``network_backend``; rebuilding the pool is the seam httpcore
    documents for custom backends, and everything else (request mapping, error mapping) stays httpx's.
    """

    def __init__(self, hosts: HostPolicy, deadline: float, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(trust_env=False),
            max_connections=4,
            network_backend=GuardedBackend(hosts, deadline),
        )
