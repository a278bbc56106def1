"""Per-service convergence locks in Redis: one worker converges a service at a time.

The lock expires so that a killed worker does not block its service for long; long steps renew it.
"""

import contextvars
from contextlib import contextmanager

import redis
from django.conf import settings

_redis = None


def redis_client():
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5, socket_timeout=10)
    return _redis


_held_lock: contextvars.ContextVar = contextvars.ContextVar("berth_held_lock", default=None)


@contextmanager
def service_lock(service_id: int, *, wait: float = 0):
    """Hold the service's convergence lock; yields False when another process holds it.

    The lock expires after BERTH_CONVERGE_LOCK_TIMEOUT so that a worker killed mid-step
    does not block the service for long; long steps call `lock_keepalive()` to renew it.
    """
    lock = redis_client().lock(
        f"berth:converge:{service_id}", timeout=settings.BERTH_CONVERGE_LOCK_TIMEOUT, blocking_timeout=wait or None
    )
    acquired = lock.acquire(blocking=wait > 0)
    token = _held_lock.set(lock if acquired else None)
    try:
        yield acquired
    finally:
        _held_lock.reset(token)
        if acquired:
            try:
                lock.release()
            except redis.exceptions.LockError:
                pass  # expired while we worked; the next holder starts from Docker's state anyway


def lock_keepalive() -> None:
    """Renew the convergence lock this step holds (before a pull or a container start)."""
    lock = _held_lock.get()
    if lock is not None:
        try:
            lock.reacquire()
        except redis.exceptions.LockError:
            pass
