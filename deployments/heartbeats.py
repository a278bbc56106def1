"""Heartbeats of Berth's own processes (worker, beat, prober, gateway controller) in Redis.

Plumbing any process loop may call: `beat(name)` is cheap and never raises. `deployments/health.py`
reads them back for `/healthz?full=1` and the dashboard.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from datetime import UTC, datetime

import redis
from celery import bootsteps
from celery.beat import PersistentScheduler
from django.conf import settings

log = logging.getLogger(__name__)

KEY = "berth:heartbeat:{}"
KEY_TTL = 24 * 3600
REDIS_TIMEOUT = 1.0  # seconds: a dead Redis must neither stall a process loop nor hang /healthz

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
    app.conf.beat_scheduler = "deployments.heartbeats:HeartbeatScheduler"


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
