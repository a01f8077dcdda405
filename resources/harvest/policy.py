"""How politely and how patiently the platform talks to a producer's server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resources.harvest.guard import HostPolicy

USER_AGENT = "territoire/0.1 (+Tours Métropole open data platform)"


@dataclass(frozen=True)
class HttpPolicy:
    """How politely and how patiently we talk to a producer's server."""

    timeout: float = 60.0
    max_bytes: int = 1 << 30
    retries: int = 3
    backoff: float = 1.0
    user_agent: str = USER_AGENT
    # Set by :func:`harvest` for one source: the hosts it may reach and the monotonic instant by which
    # its whole download (every request, retry and redirect) must be over. A bare ``fetch`` gets its
    # URL's own host and ``timeout`` from now.
    hosts: HostPolicy | None = None
    deadline: float | None = None
