"""The opaque pagination cursor: where a page ended, bound to the publication version it was read from.

A cursor carries the version, the sort it was made for and the last row's key (sort value, then the
row's lineage: producer, batch, source row). The next page reads the same version — from
``published.<t>`` while it is current, from ``published.<t>_history`` once a newer version is out —
so paging through a dataset never skips nor repeats a row however many publications happen meanwhile.
It is signed (HMAC) so a client cannot forge keys; values still travel to SQL as parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

from portal.errors import bad

# Cursors need only be unforgeable, not secret; a fixed key keeps them valid across restarts and
# between the processes of one deployment.
_KEY = b"territoire-portal-cursor-v1"


@dataclass(frozen=True)
class Cursor:
    version: int
    sort: str  # "" (lineage order), "field" or "-field"
    key: tuple  # (sort value as text or None,)? + (producer, batch_id, source_row)


def encode(cursor: Cursor) -> str:
    payload = json.dumps([cursor.version, cursor.sort, list(cursor.key)], separators=(",", ":")).encode()
    signature = hmac.new(_KEY, payload, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(signature + payload).decode().rstrip("=")


def decode(token: str, sort: str) -> Cursor:
    """The cursor in ``token``; 400 on ``cursor`` when it was tampered with or made for another sort."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        signature, payload = raw[:12], raw[12:]
        if not hmac.compare_digest(signature, hmac.new(_KEY, payload, hashlib.sha256).digest()[:12]):
            raise ValueError
        version, made_for, key = json.loads(payload)
    except (ValueError, TypeError):
        raise bad(
            "cursor", "Curseur invalide : reprenez la pagination depuis le lien « next » reçu."
        ) from None
    if made_for != sort:
        raise bad("cursor", "Ce curseur a été fait pour un autre tri : gardez le même paramètre sort.")
    return Cursor(int(version), made_for, tuple(key))
