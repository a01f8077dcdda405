"""HTTP download with the manners a producer's server deserves.

Conditional GET (``If-None-Match`` / ``If-Modified-Since``) so an unchanged feed costs a 304; a
streamed body with a hard size cap so a runaway export cannot fill the disk; retries with
exponential backoff on what is worth retrying (timeouts, connection errors, 5xx) and never on a 4xx,
which will not get better by asking again.
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import re
import time
from collections.abc import Mapping
from email.message import Message
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from quality.text import ascii_only
from quality.url_mask import mask_url
from resources.harvest.errors import HarvestError
from resources.harvest.guard import MAX_REDIRECTS, GuardedTransport, HostPolicy
from resources.harvest.harvested import Harvested, previous_sha
from resources.harvest.policy import HttpPolicy

# Extensions the reader dispatches on; a media type is only used when the name has none of them.
KNOWN_EXTENSIONS = (".csv", ".geojson", ".json", ".gml", ".zip", ".xlsx", ".xls", ".ods", ".xml", ".txt")
_EXTENSION_BY_MEDIA_TYPE = {
    "text/csv": ".csv",
    "application/csv": ".csv",
    "application/geo+json": ".geojson",
    "application/vnd.geo+json": ".geojson",
    "application/json": ".json",
    "application/zip": ".zip",
    "application/x-zip-compressed": ".zip",
    "application/gml+xml": ".gml",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
}


def fetch(
    url: str,
    *,
    policy: HttpPolicy,
    previous: Mapping[str, Any] | None = None,
    params: Mapping[str, str] | None = None,
    file_name: str | None = None,
    conditional: bool = True,
) -> Harvested:
    """GET ``url`` and return it as a :class:`Harvested`, honouring the previous validators."""
    headers: dict[str, str] = {}
    if conditional and previous:
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
    response, body = request(url, policy=policy, params=params, headers=headers)
    source_url = str(response.url)
    etag = response.headers.get("ETag")
    last_modified = response.headers.get("Last-Modified")
    media_type = _media_type(response.headers)
    name = name_for(source_url, response.headers, file_name, media_type)
    if response.status_code == 304:
        prev = previous or {}
        return Harvested(
            content=b"",
            file_name=name,
            source_url=mask_url(source_url),
            etag=etag or prev.get("etag"),
            last_modified=last_modified or prev.get("last_modified"),
            not_modified=True,
            sha256=prev.get("sha256") or "",
            media_type=media_type,
        )
    digest = hashlib.sha256(body).hexdigest()
    return Harvested(
        content=body,
        file_name=name,
        source_url=mask_url(source_url),
        etag=etag,
        last_modified=last_modified,
        not_modified=digest == previous_sha(previous),
        sha256=digest,
        media_type=media_type,
    )


def get_json(url: str, *, policy: HttpPolicy, params: Mapping[str, str] | None = None) -> Any:
    """GET an API document (CKAN action, OpenDataSoft catalogue) and decode it as JSON."""
    response, body = request(url, policy=policy, params=params, headers={"Accept": "application/json"})
    return decode_json(body, str(response.url))


def decode_json(body: bytes, where: str) -> Any:
    """A feed's JSON document; malformed or absurdly nested JSON fails the source, not the platform."""
    try:
        return json.loads(body)
    except ValueError as exc:
        raise HarvestError(where, f"réponse qui n'est pas du JSON ({exc})") from None
    except RecursionError:
        raise HarvestError(where, "réponse JSON imbriquée trop profondément : refusée") from None


def request(
    url: str,
    *,
    policy: HttpPolicy,
    params: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[httpx.Response, bytes]:
    """GET with retries; returns the response (headers, final URL) and its body, capped in size.

    Redirects are followed here, not by httpx, so each hop is checked against the source's hosts
    before connecting; every connection goes through the guarded transport (``guard.py``), which
    checks the address it connects to and holds the source's deadline over every read.
    """
    hosts = policy.hosts or HostPolicy.for_source(url)
    deadline = policy.deadline if policy.deadline is not None else time.monotonic() + policy.timeout
    attempts = policy.retries + 1
    cause = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(max(0.0, min(policy.backoff * 2 ** (attempt - 1), deadline - time.monotonic())))
        if time.monotonic() >= deadline:
            raise _too_slow(url, policy)
        try:
            with httpx.Client(
                transport=GuardedTransport(hosts, deadline),
                timeout=httpx.Timeout(policy.timeout),
                follow_redirects=False,
                trust_env=False,
                headers={"User-Agent": ascii_header(policy.user_agent)},
            ) as client:
                target = str(httpx.URL(url, params=params) if params else httpx.URL(url))
                for hop in range(MAX_REDIRECTS + 1):
                    try:
                        hosts.check_url(target)
                    except HarvestError as exc:
                        if not hop:
                            raise
                        # Name the source the agent declared, and where its server tried to send us.
                        raise HarvestError(url, f"redirection vers {exc.url} : {exc.cause}") from None
                    with client.stream("GET", target, headers=dict(headers or {})) as response:
                        status = response.status_code
                        location = response.headers.get("Location")
                        if response.is_redirect and location:
                            target = str(response.url.join(location))
                            continue
                        if status >= 500:
                            cause = f"erreur du serveur HTTP {status} {response.reason_phrase}"
                            break
                        if status >= 400:
                            detail = _error_detail(response)
                            raise HarvestError(
                                str(response.url),
                                f"refusé par le serveur : HTTP {status} {response.reason_phrase}{detail}",
                            )
                        if status == 304:
                            return response, b""
                        if status >= 300:
                            raise HarvestError(
                                str(response.url), f"réponse HTTP {status} sans adresse de redirection"
                            )
                        return response, _read_capped(response, policy.max_bytes)
                else:
                    raise HarvestError(url, f"plus de {MAX_REDIRECTS} redirections : abandon")
        except httpx.TimeoutException:
            if time.monotonic() >= deadline:
                raise _too_slow(url, policy) from None
            cause = f"pas de réponse dans le délai de {policy.timeout:g} s"
        except httpx.TransportError as exc:
            cause = f"connexion impossible ({type(exc).__name__}: {exc})"
        except httpx.InvalidURL as exc:
            raise HarvestError(url, f"URL invalide ({exc})") from exc
    tries = "tentative" if attempts == 1 else "tentatives"
    raise HarvestError(url, f"{cause} ({attempts} {tries})")


def _too_slow(url: str, policy: HttpPolicy) -> HarvestError:
    return HarvestError(
        url,
        f"téléchargement non terminé dans le délai total de {policy.timeout:g} s "
        "(TERRITOIRE_HARVEST_TIMEOUT) : le serveur répond trop lentement ou pas du tout",
    )


def _error_detail(response: httpx.Response, limit: int = 4096) -> str:
    """What the server said about the refusal (an OWS ExceptionText, a JSON error), briefly."""
    body = b""
    try:
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) >= limit:
                break
    except httpx.HTTPError:
        return ""
    text = body[:limit].decode("utf-8", "replace")
    exception = re.findall(r"<(?:\w+:)?ExceptionText>(.*?)</", text, re.DOTALL)
    if exception:
        text = "; ".join(e.strip() for e in exception)
    else:
        try:
            document = json.loads(text)
            error = document.get("error") or document.get("message") if isinstance(document, dict) else None
            text = json.dumps(error, ensure_ascii=False) if error else text
        except ValueError:
            pass
    text = " ".join(re.sub(r"<[^>]+>", " ", text).split())[:300]
    return f" — {text}" if text else ""


def ascii_header(value: str) -> str:
    """HTTP header values are ASCII (RFC 9110 leaves anything else opaque): fold accents away."""
    return ascii_only(value)


def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("Content-Length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise HarvestError(
            str(response.url),
            f"fichier trop volumineux : {int(declared)} octets annoncés, limite {max_bytes}",
        )
    chunks: list[bytes] = []
    size = 0
    # iter_bytes() decodes gzip/deflate: the cap applies to the decoded size, which stops a gzip bomb too.
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise HarvestError(
                str(response.url), f"fichier trop volumineux : plus de {max_bytes} octets reçus, abandon"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def _media_type(headers: httpx.Headers) -> str | None:
    value = headers.get("Content-Type")
    return value.split(";", 1)[0].strip().lower() or None if value else None


def name_for(
    url: str, headers: httpx.Headers | Mapping[str, str], fallback: str | None, media_type: str | None
) -> str:
    """The file name: the server's Content-Disposition, else the registry's, else the URL's last segment."""
    name = None
    disposition = headers.get("Content-Disposition")
    if disposition:
        message = Message()
        message["Content-Disposition"] = disposition
        name = message.get_filename()
    name = name or fallback or unquote(PurePosixPath(urlsplit(url).path).name) or "donnees"
    name = PurePosixPath(name.replace("\\", "/")).name or "donnees"
    if not name.lower().endswith(KNOWN_EXTENSIONS):
        extension = _EXTENSION_BY_MEDIA_TYPE.get(media_type or "") or (
            mimetypes.guess_extension(media_type) if media_type else None
        )
        if extension:
            name += extension
    return name


def harvest_http(
    entry: Mapping[str, Any], previous: Mapping[str, Any] | None, policy: HttpPolicy
) -> Harvested:
    """Registry kind ``http``: ``{kind: http, url, file_name?}``, one file at a URL."""
    return fetch(entry["url"], policy=policy, previous=previous, file_name=entry.get("file_name"))
