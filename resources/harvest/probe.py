"""Ask feeds whether they changed, in background threads, without Dagster.

Each feed gets its conditional request (``If-None-Match``/``If-Modified-Since`` from the last file
archived from it; a portal that ignores them is compared by sha256): an unchanged feed answers
``not_modified`` and needs no run at all, a changed one hands its bytes to the run that archives them,
so nothing is downloaded twice. One thread per host, its feeds one after another (the politeness the
schedules' ``territoire/host`` limit keeps); different hosts at once, since each waits on a network.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Hashable, Mapping
from concurrent.futures import Future
from typing import Any
from urllib.parse import urlsplit

from resources.harvest.dispatch import harvest
from resources.harvest.harvested import Harvested
from resources.harvest.policy import HttpPolicy
from resources.harvest.settings import REFERENCE, expand_settings, policy_from_environment

# Hosts asked at once; each waits on a network, not on the two cores.
MAX_HOST_THREADS = 8

Request = tuple[Mapping[str, Any], Mapping[str, Any] | None]  # (registry entry, validators)


def feed_host(entry: Mapping[str, Any]) -> str:
    """The host a feed talks to (unresolved ``${NAME}`` stands for itself): feeds of one host queue."""
    url = REFERENCE.sub(lambda m: os.environ.get(m.group(1), f"//{m.group(1)}"), str(entry.get("url") or ""))
    parts = urlsplit(url if "://" in url else f"//{url}")
    return parts.netloc.rsplit("@", 1)[-1].lower() or parts.scheme or str(entry.get("kind"))


def fetch_feed(request: Request, policy: HttpPolicy | None = None) -> Harvested:
    """One feed's conditional fetch, as the ``Harvester`` resource makes it."""
    entry, previous = request
    return harvest(expand_settings(dict(entry)), previous, policy or policy_from_environment())


def probe_feeds(
    requests: Mapping[Hashable, Request], policy: HttpPolicy | None = None
) -> dict[Hashable, Future]:
    """Start every feed's fetch; each future holds its ``Harvested`` or the exception it raised (a
    feed down is its own partition's failure, recorded where the result is used)."""
    policy = policy or policy_from_environment()
    futures: dict[Hashable, Future] = {key: Future() for key in requests}
    by_host: dict[str, list[Hashable]] = {}
    for key, (entry, _previous) in requests.items():
        by_host.setdefault(feed_host(entry), []).append(key)
    queues = list(by_host.values())
    lanes = [queues[i::MAX_HOST_THREADS] for i in range(min(len(queues), MAX_HOST_THREADS))]

    def work(lane: list[list[Hashable]]) -> None:
        for keys in lane:
            for key in keys:
                try:
                    futures[key].set_result(fetch_feed(requests[key], policy))
                except BaseException as exc:  # handed to whoever reads the future
                    futures[key].set_result(exc)

    for lane in lanes:
        # Daemon: a command that ends early (Ctrl-C, an error) does not wait on a slow server.
        threading.Thread(target=work, args=(lane,), daemon=True, name="territoire-feeds").start()
    return futures
