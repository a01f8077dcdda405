"""``territoire serve``: where the portal connects, then uvicorn.

The portal connects as ``territoire_portal``, a login role that inherits the read-only
``territoire_analyst`` and may read ``meta.publications``:

- ``TERRITOIRE_PORTAL_URL`` set: that URL as is (production: an administrator created the role once,
  see ``queries.provision_role`` for its grants);
- otherwise the platform's URL (``TERRITOIRE_WAREHOUSE_URL``, else the embedded cluster under
  ``TERRITOIRE_HOME``) is used once, as administrator, to create or refresh that role, whose password
  is derived from the administrator's (nothing stored); the portal then connects as the role.
"""

from __future__ import annotations

import os

import sqlalchemy as sa

from portal import queries
from quality.url_mask import mask_url

PORTAL_URL_VAR = "TERRITOIRE_PORTAL_URL"
TIMEOUT_VAR = "TERRITOIRE_PORTAL_STATEMENT_TIMEOUT_MS"
DEFAULT_TIMEOUT_MS = 10_000


def statement_timeout_ms() -> int:
    return int(os.environ.get(TIMEOUT_VAR) or DEFAULT_TIMEOUT_MS)


def portal_conninfo(home: str | None = None) -> str:
    """The libpq URL the portal connects with (it may hold a password: never print it)."""
    explicit = os.environ.get(PORTAL_URL_VAR)
    if explicit:
        return sa.make_url(explicit).set(drivername="postgresql").render_as_string(hide_password=False)
    from resources.warehouse import Warehouse

    admin = Warehouse(home=home).resolved_url()
    return queries.provision_role(admin, statement_timeout_ms())


def serve(host: str = "127.0.0.1", port: int = 8000, home: str | None = None) -> None:
    import uvicorn

    from portal.app import Settings, create_app
    from resources.registry.load import load_registry

    conninfo = portal_conninfo(home)
    app = create_app(
        Settings(conninfo=conninfo, registry=load_registry(), statement_timeout_ms=statement_timeout_ms())
    )
    print(f"Portail : http://{host}:{port}/api/datasets — entrepôt {mask_url(conninfo)}", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
