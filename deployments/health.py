"""Health of Berth itself: heartbeats of its long-running processes and reachability of what it needs.

Each process calls `heartbeats.beat(name)` from its main loop (worker: a timer in its event loop; beat: its
scheduler's tick; prober and gateway controller: their loops). A beat is a Redis key
`berth:heartbeat:<name>` holding a JSON timestamp, rate-limited to one write per
BERTH_HEARTBEAT_INTERVAL and expiring after a day, so a process that stopped long ago still
shows when it was last seen. `report()` is what /healthz?full=1 and the dashboard show.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout

import redis
from django.conf import settings
from django.db import connection

from deployments.engine import hosts as engine_hosts
from deployments.gateway.controller import options_from_settings
from deployments.gateway.haproxy import RuntimeAPI
from deployments.heartbeats import REDIS_TIMEOUT, _redis, heartbeats, stale_after
from deployments.models import DockerHost

log = logging.getLogger(__name__)

HOST_TIMEOUT = 3.0  # seconds for all Docker hosts together


def _check(fn) -> dict:
    """{"ok": True, **fn()} or {"ok": False, "error": "..."}; a check never raises."""
    try:
        return {"ok": True, **(fn() or {})}
    except Exception as exc:  # noqa: BLE001 - any failure is the answer to "is it reachable?"
        return {"ok": False, "error": str(exc) or type(exc).__name__}


def _database() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return {"vendor": connection.vendor}


def _queue() -> dict:
    """Tasks waiting in Celery's default queue on the broker (the broker is REDIS_URL unless said otherwise)."""
    url = settings.CELERY_BROKER_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
    try:
        return {"depth": int(client.llen("celery"))}
    finally:
        client.close()


def _docker_hosts() -> dict[str, dict]:
    """Each registered Docker host's answer, asked in parallel within HOST_TIMEOUT."""

    hosts = list(DockerHost.objects.order_by("name"))
    if not hosts:
        return {}

    def ask(host):
        info = engine_hosts.host_runtime(host).info()
        return {"version": info.server_version}

    pool = ThreadPoolExecutor(max_workers=min(8, len(hosts)), thread_name_prefix="health")
    futures = {host.name: pool.submit(_check, lambda h=host: ask(h)) for host in hosts}
    deadline = time.monotonic() + HOST_TIMEOUT
    answers = {}
    for name, future in futures.items():
        try:
            answers[name] = future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            answers[name] = {"ok": False, "error": f"no answer within {HOST_TIMEOUT:.0f} s"}
    pool.shutdown(wait=False, cancel_futures=True)  # a hung engine must not hold the request
    return answers


def _gateway() -> dict:
    options = options_from_settings(settings)
    info = RuntimeAPI(options.admin_socket, options.master_socket, timeout=REDIS_TIMEOUT).info()
    if "Pid" not in info:
        raise RuntimeError("HAProxy's admin socket gave no process information")
    return {"version": info.get("Version", ""), "uptime_seconds": int(info.get("Uptime_sec", 0) or 0)}


def report(*, expected: list[str] | tuple[str, ...]) -> dict:
    """Everything /healthz?full=1 shows; `ok` is True only when every part is.

    `expected` names the processes whose heartbeat must be fresh (console/processes.py).
    """
    redis_check = _check(lambda: {"ping": bool(_redis().ping())})
    try:
        processes = heartbeats(expected)
    except (redis.RedisError, ValueError) as exc:
        processes = {name: {"last_heartbeat": None, "fresh": False, "error": str(exc)} for name in expected}
    hosts = _docker_hosts_checked()
    parts = {
        "processes": processes,
        "redis": redis_check,
        "database": _check(_database),
        "queue": _check(_queue),
        "docker_hosts": hosts,
        "gateway": _check(_gateway),
    }
    problems = [f"{name}: no fresh heartbeat" for name, beat_ in processes.items() if not beat_["fresh"]]
    problems += [
        f"{part}: {parts[part]['error']}" for part in ("redis", "database", "queue", "gateway") if not parts[part]["ok"]
    ]
    problems += [f"docker host {name}: {answer['error']}" for name, answer in hosts.items() if not answer["ok"]]
    return {"ok": not problems, "problems": problems, "stale_after_seconds": stale_after(), **parts}


def _docker_hosts_checked() -> dict[str, dict]:
    try:
        return _docker_hosts()
    except Exception as exc:  # noqa: BLE001 - the database being down is reported by its own check
        return {"(hosts)": {"ok": False, "error": f"cannot list hosts: {exc}"}}
