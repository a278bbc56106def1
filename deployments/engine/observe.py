"""Observe every host at once: capacity and labelled containers, read in parallel with a deadline.

Reconcile reads each host's `info()` and `list()` here, on a small thread pool, so one slow or hung
Docker host costs the pass at most `BERTH_RECONCILE_HOST_TIMEOUT` seconds instead of blocking it
(and every other host's healing) for the Docker client's own 60 s timeout. Only runtime calls run on
the pool; every database read and write stays on the caller's thread.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from deployments.engine.hosts import host_runtime
from deployments.models import DockerHost
from deployments.runtime import LABEL_INSTALLATION, ContainerState, HostInfo, HostUnreachable, RuntimeFailure

# Shared across passes; a host whose previous observation is still running (hung) gets no second
# thread, so a dead host holds one worker, never the whole pool.
_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="berth-observe")
_in_flight: dict[int, tuple[Future, Future]] = {}
_in_flight_lock = threading.Lock()


@dataclass
class HostObservation:
    """What one host answered. `info` is a HostInfo, or the RuntimeFailure that stopped reading it, or
    None when an unexpected error did; `states` is None when the containers could not be listed (the
    pass then leaves the host alone); `error` is an unexpected exception (a bug, a malformed answer),
    for the caller to raise where it isolates one host's failures."""

    info: HostInfo | RuntimeFailure | None
    states: list[ContainerState] | None
    listed_at: datetime
    error: Exception | None = None


def _info(host: DockerHost) -> HostInfo | RuntimeFailure:
    try:
        return host_runtime(host).info()
    except RuntimeFailure as exc:
        return exc


def _list(host: DockerHost) -> list[ContainerState] | None:
    try:
        return host_runtime(host).list({LABEL_INSTALLATION: settings.BERTH_INSTALLATION})
    except RuntimeFailure:
        return None


def _observation(host: DockerHost, info: Future, listing: Future, listed_at: datetime) -> HostObservation:
    """Both answers of a host that gave them in time; unexpected errors are handed back, not raised."""
    try:
        answer = info.result()
    except Exception as exc:  # noqa: BLE001 - raised later on the caller's thread
        return HostObservation(info=None, states=None, listed_at=listed_at, error=exc)
    if isinstance(answer, RuntimeFailure):
        return HostObservation(info=answer, states=None, listed_at=listed_at)
    try:
        return HostObservation(info=answer, states=listing.result(), listed_at=listed_at)
    except Exception as exc:  # noqa: BLE001 - raised later on the caller's thread
        return HostObservation(info=answer, states=None, listed_at=listed_at, error=exc)


def hosts_observe(hosts: list[DockerHost], *, timeout: float | None = None) -> dict[int, HostObservation]:
    """Every host's observation by host pk, read in parallel; waits at most `timeout` seconds in all.

    `info()` and `list()` of a host run side by side too (`docker info` is slow on a busy engine).
    A host that has not answered by then (or is still busy with an earlier pass's call) is reported
    unreachable for this pass. Never raises for a host's failure: unexpected errors come back in `error`.
    """
    if timeout is None:
        timeout = settings.BERTH_RECONCILE_HOST_TIMEOUT
    # Taken before listing: a container started after it may be missing from the list, and reconcile
    # only forgets instances that started before this moment.
    listed_at = timezone.now()
    calls: dict[int, tuple[Future, Future]] = {}
    busy: set[int] = set()
    with _in_flight_lock:
        for host in hosts:
            previous = _in_flight.get(host.pk)
            if previous is not None and not all(f.done() for f in previous):
                busy.add(host.pk)
                continue
            calls[host.pk] = _in_flight[host.pk] = (_pool.submit(_info, host), _pool.submit(_list, host))
    wait([f for pair in calls.values() for f in pair], timeout=timeout)
    observations = {}
    for host in hosts:
        pair = calls.get(host.pk)
        if pair is None or not all(f.done() for f in pair):
            why = "is still answering an earlier pass" if host.pk in busy else f"did not answer within {timeout:g}s"
            failure = HostUnreachable(f"the Docker host at {host.url} {why}")
            observations[host.pk] = HostObservation(info=failure, states=None, listed_at=listed_at)
            continue
        observations[host.pk] = _observation(host, *pair, listed_at)
    return observations
