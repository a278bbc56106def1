"""Health of Berth itself: heartbeats of its long-running processes and reachability of what it needs.

Each process calls `beat(name)` from its main loop (worker: a timer in its event loop; beat: its
scheduler's tick; prober and gateway controller: their loops). A beat is a Redis key
`berth:heartbeat:<name>` holding a JSON timestamp, rate-limited to one write per
BERTH_HEARTBEAT_INTERVAL and expiring after a day, so a process that stopped long ago still
shows when it was last seen. `report()` is what /healthz?full=1 and the dashboard show.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime

import redis
from celery import bootsteps
from celery.beat import PersistentScheduler
from django.conf import settings

log = logging.getLogger(__name__)

KEY = "berth:heartbeat:{}"
KEY_TTL = 24 * 3600
REDIS_TIMEOUT = 1.0  # seconds: a dead Redis must neither stall a process loop nor hang /healthz
HOST_TIMEOUT = 3.0  # seconds for all Docker hosts together

_client: redis.Redis | None = None
_client_url = ""
_last_beat: dict[str, float] = {}
_beat_lock = threading.Lock()
_failing = False


def interval() -> float:
    return float(getattr(settings, "BERTH_HEARTBEAT_INTERVAL", 10))


def stale_after() -> float:
    """A heartbeat older than this is stale: three missed beats plus slack."""
    return float(getattr(settings, "BERTH_HEARTBEAT_STALE", 0) or interval() * 3 + 5)


def _redis() -> redis.Redis:
    global _client, _client_url
    if _client is None or _client_url != settings.REDIS_URL:  # tests switch Redis per run
        _client_url = settings.REDIS_URL
        _client = redis.Redis.from_url(_client_url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT)
    return _client


def beat(name: str, *, force: bool = False) -> None:
    """Record that process `name` is alive. Cheap to call every loop; never raises."""
    global _failing
    now = time.monotonic()
    with _beat_lock:
        if not force and now - _last_beat.get(name, -1e9) < interval():
            return
        _last_beat[name] = now
    value = json.dumps({"at": time.time(), "pid": os.getpid(), "host": socket.gethostname()})
    try:
        _redis().set(KEY.format(name), value, ex=KEY_TTL)
        if _failing:
            log.info("heartbeat of %s written again", name)
        _failing = False
    except redis.RedisError as exc:
        if not _failing:  # once per outage, not once per loop
            log.warning("cannot write the heartbeat of %s: %s", name, exc)
        _failing = True


# --- Celery hooks (console/celery.py installs them) ----------------------------------------------


class WorkerHeartbeat(bootsteps.StartStopStep):
    """Beats from a timer in the worker's own event loop: a hung consumer stops the beats."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.tref = None

    def start(self, worker):
        beat("worker", force=True)
        self.tref = worker.timer.call_repeatedly(interval(), beat, ("worker",), priority=10)

    def stop(self, worker):
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


class HeartbeatScheduler(PersistentScheduler):
    """Celery beat's default scheduler that also beats on every tick, and ticks at least once per interval."""

    def tick(self, *args, **kwargs):
        beat("beat")
        return min(super().tick(*args, **kwargs), interval())


def install_celery_heartbeats(app) -> None:
    """Make the worker and beat of `app` write heartbeats."""
    app.steps["worker"].add(WorkerHeartbeat)
    app.conf.beat_scheduler = "deployments.health:HeartbeatScheduler"


# --- reading ------------------------------------------------------------------------------------


def heartbeats(names: list[str] | tuple[str, ...]) -> dict[str, dict]:
    """{name: {last_heartbeat (ISO 8601 or None), age_seconds, fresh, pid, host}}; raises RedisError."""
    raw = _redis().mget([KEY.format(name) for name in names])
    now, limit = time.time(), stale_after()
    found = {}
    for name, value in zip(names, raw):
        data = json.loads(value) if value else {}
        at = data.get("at")
        age = round(now - at, 1) if at else None
        found[name] = {
            "last_heartbeat": datetime.fromtimestamp(at, UTC).isoformat(timespec="seconds") if at else None,
            "age_seconds": age,
            "fresh": age is not None and age <= limit,
            "pid": data.get("pid"),
            "host": data.get("host"),
        }
    return found


def _check(fn) -> dict:
    """{"ok": True, **fn()} or {"ok": False, "error": "..."}; a check never raises."""
    try:
        return {"ok": True, **(fn() or {})}
    except Exception as exc:  # noqa: BLE001 - any failure is the answer to "is it reachable?"
        return {"ok": False, "error": str(exc) or type(exc).__name__}


def _database() -> dict:
    from django.db import connection

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
    from deployments.engine import host_runtime
    from deployments.models import DockerHost

    hosts = list(DockerHost.objects.order_by("name"))
    if not hosts:
        return {}

    def ask(host):
        info = host_runtime(host).info()
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
    from deployments.gateway.controller import options_from_settings
    from deployments.gateway.haproxy import RuntimeAPI

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
