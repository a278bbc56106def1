"""Wake-ups between Berth's processes over Redis pub/sub: act on a change now, not at the next poll.

The prober and the gateway controller poll the database on a short tick; that stays the source of
truth (a lost wake-up costs one tick, never correctness). `wake(topic)` lets the process that made
a change (the engine started an instance; the prober flipped readiness) cut that tick short.
Never raises: with Redis down, waiting degrades to sleeping.
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings

log = logging.getLogger(__name__)

PREFIX = "berth:wake:"
TIMEOUT = 0.5  # seconds: a dead Redis must not stall the caller

_client: redis.Redis | None = None
_client_url = ""


def _redis() -> redis.Redis:
    global _client, _client_url
    if _client is None or _client_url != settings.REDIS_URL:  # tests switch Redis per run
        _client_url = settings.REDIS_URL
        _client = redis.Redis.from_url(_client_url, socket_connect_timeout=TIMEOUT, socket_timeout=TIMEOUT)
    return _client


def wake(topic: str) -> None:
    """Tell whoever waits on `topic` to look now."""
    try:
        _redis().publish(PREFIX + topic, b"1")
    except redis.RedisError as exc:
        log.debug("wake-up %s not sent: %s", topic, exc)


class Waiter:
    """Sleep up to a timeout, or less when `topic` is woken. One per process loop."""

    def __init__(self, topic: str):
        self.topic = topic
        self._pubsub = None

    def wait(self, timeout: float) -> bool:
        """True when woken before `timeout` seconds passed."""
        deadline = time.monotonic() + timeout
        try:
            if self._pubsub is None:
                self._pubsub = _redis().pubsub(ignore_subscribe_messages=True)
                self._pubsub.subscribe(PREFIX + self.topic)
            message = self._pubsub.get_message(timeout=max(0.0, timeout))
            woken = message is not None
            while woken and self._pubsub.get_message(timeout=0):  # several wake-ups: one look serves all
                pass
        except (redis.RedisError, OSError):
            self._pubsub = None
            woken = False
        time.sleep(max(0.0, deadline - time.monotonic()) if not woken else 0)
        return woken
