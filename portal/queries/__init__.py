"""Every SQL statement of the portal, one module per concern.

Kept apart from ``resources/warehouse/`` on purpose: the platform's writer resource connects as the
owner role and changes the warehouse; the portal is a read-only consumer, connected as its own login
role (``territoire_portal``, a member of ``territoire_analyst`` that may also read
``meta.publications``), in read-only transactions under a statement timeout. Nothing here writes data;
``provision_role`` only creates that login role, with the platform's administrator URL, when no
``TERRITOIRE_PORTAL_URL`` is given.

Identifiers (tables, fields) come from the registry and the schemas and are quoted with
``psycopg.sql.Identifier``; every value travels as a parameter.
"""

from __future__ import annotations

from portal.queries.exports import export_statement, stream
from portal.queries.features import extent, feature, tile
from portal.queries.records import count, records
from portal.queries.role import (
    ANALYST_ROLE,
    PORTAL_ROLE,
    portal_password,
    provision_role,
    session_settings,
    whoami,
)
from portal.queries.versions import Snapshot, Version, current_versions, snapshot, versions

__all__ = [
    "ANALYST_ROLE",
    "PORTAL_ROLE",
    "Snapshot",
    "Version",
    "count",
    "current_versions",
    "export_statement",
    "extent",
    "feature",
    "portal_password",
    "provision_role",
    "records",
    "session_settings",
    "snapshot",
    "stream",
    "tile",
    "versions",
    "whoami",
]
