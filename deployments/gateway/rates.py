"""Request rates per service for the autoscaler: HAProxy's counters, published to Redis every second.

The traffic collector (metrics.py) writes chart rows every 10 s; a scaling decision needs a fresher
number, so this thread reads `show stat` each second, turns every service backend's response
counter into a rate over the last few seconds, and writes {service: {"qps", "at"}} to one Redis
hash. Readers (the autoscaler's step, in the worker) ignore entries older than MAX_AGE, so a
gateway that stopped publishing reads as "unknown", never as "no traffic".
"""

import json
import logging
import threading
import time
from collections import defaultdict, deque

import redis

from deployments.gateway.haproxy import HAProxyError, RuntimeAPI
from deployments.gateway.render import BACKEND_PREFIX
from deployments.locks import redis_client

log = logging.getLogger(__name__)

KEY = "berth:gateway:qps"
INTERVAL = 1.0  # seconds between readings
WINDOW = 3.0  # the rate is taken over the readings of the last WINDOW seconds
MAX_AGE = 5.0  # a published rate older than this is unknown
RESPONSES = ("hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other")


class RateMeter:
    """Cumulative counters in, rates out. Pure: the clock is the caller's."""

    def __init__(self, window: float = WINDOW):
        self.window = window
        self.readings: dict[str, deque[tuple[float, int]]] = defaultdict(deque)

    def add(self, name: str, at: float, total: int) -> float | None:
        """Record `total` (a counter that only grows, except when HAProxy reloads) and return the rate
        over the window, or None until two readings exist."""
        readings = self.readings[name]
        if readings and total < readings[-1][1]:
            readings.clear()  # a reload started new counters: rates restart from here
        readings.append((at, total))
        while len(readings) > 2 and readings[1][0] <= at - self.window:
            readings.popleft()
        if len(readings) < 2:
            return None
        (first_at, first), (last_at, last) = readings[0], readings[-1]
        return (last - first) / (last_at - first_at) if last_at > first_at else None

    def forget_except(self, names: set[str]) -> None:
        for name in set(self.readings) - names:
            del self.readings[name]


class RatePublisher:
    """The gateway controller's thread that publishes per-service request rates to Redis."""

    def __init__(self, api: RuntimeAPI, *, interval: float = INTERVAL):
        self.api = api
        self.interval = interval
        self.meter = RateMeter()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="gateway-rates", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                self.publish()
            except (HAProxyError, redis.RedisError, OSError) as exc:
                log.debug("no rates published: %s", exc)
            except Exception:  # keep publishing: one bad pass must not stop the autoscaler's input
                log.exception("rate publishing failed")

    def publish(self) -> dict[str, float]:
        """One reading: returns and publishes {service: requests per second}."""
        now = time.time()
        rates: dict[str, float] = {}
        seen = set()
        for row in self.api.show_stat():
            backend = row["pxname"]
            if row["svname"] != "BACKEND" or not backend.startswith(BACKEND_PREFIX):
                continue
            name = backend[len(BACKEND_PREFIX) :]
            seen.add(name)
            rate = self.meter.add(name, now, sum(int(row.get(k) or 0) for k in RESPONSES))
            if rate is not None:
                rates[name] = rate
        self.meter.forget_except(seen)
        client = redis_client()
        pipe = client.pipeline()
        pipe.delete(KEY)
        if rates:
            pipe.hset(KEY, mapping={name: json.dumps({"qps": rate, "at": now}) for name, rate in rates.items()})
            pipe.expire(KEY, int(MAX_AGE) * 2)
        pipe.execute()
        return rates


def service_qps(name: str, *, now: float | None = None) -> float | None:
    """The service's requests per second at the gateway, or None when unknown (no fresh reading)."""
    raw = redis_client().hget(KEY, name)
    if raw is None:
        return None
    entry = json.loads(raw)
    if (now if now is not None else time.time()) - entry["at"] > MAX_AGE:
        return None
    return float(entry["qps"])
