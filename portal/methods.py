"""Only GET, HEAD and OPTIONS reach the portal: it reads, it never writes.

A plain ASGI middleware in front of the routes: HEAD is answered as GET (uvicorn sends no body for a
HEAD request), a bare OPTIONS (not a CORS preflight, which the CORS middleware answers) lists the
allowed methods, and any other method is a 405 in French.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

ALLOWED = "GET, HEAD, OPTIONS"
HEAD_MARK = "territoire.head"


class ReadOnlyMethods:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        if method == "GET":
            await self.app(scope, receive, send)
        elif method == "HEAD":
            # A copy: the server still sees HEAD in its own scope and drops the body.
            # HEAD_MARK lets a streaming route answer the headers without running its query.
            await self.app(dict(scope, method="GET", **{HEAD_MARK: True}), receive, send)
        elif method == "OPTIONS":
            await self._options(scope, receive, send)
        else:
            body = json.dumps(
                {
                    "erreur": f"Méthode {method} non permise : le portail se lit avec {ALLOWED}.",
                    "statut": 405,
                },
                ensure_ascii=False,
            ).encode()
            await _send(
                send, 405, body, [(b"allow", ALLOWED.encode()), (b"content-type", b"application/json")]
            )

    async def _options(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = {k.lower(): v for k, v in scope.get("headers", [])}
        if b"origin" in headers and b"access-control-request-method" in headers:
            await self.app(scope, receive, send)  # a CORS preflight: the CORS middleware answers it
            return
        await _send(send, 204, b"", [(b"allow", ALLOWED.encode())])


async def _send(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
