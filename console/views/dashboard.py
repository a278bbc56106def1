"""The staff dashboard: services by status, hosts, warnings, the worker queue."""

from datetime import timedelta
from typing import Any

import redis
from celery import Celery
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from console.celery import app
from console.views.common import paged, staff_required, status_filter
from deployments import selectors
from deployments.choices import ServiceStatus

_broker_clients: dict[str, redis.Redis] = {}


def _broker_redis() -> redis.Redis | None:
    """A Redis client for Celery's broker with short timeouts, so a dead broker cannot hang the page.

    Not redis_client(): that one waits as long as the OS lets a connect take, and the
    broker is the one that holds the queue (it is REDIS_URL unless CELERY_BROKER_URL says otherwise).
    """

    url = str(app.conf.broker_url or settings.CELERY_BROKER_URL)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        return None
    if url not in _broker_clients:
        _broker_clients[url] = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=0.5)
    return _broker_clients[url]


def celery_queue_depth() -> int | None:
    """Tasks waiting in Celery's default queue (LLEN celery on the broker), or None when unknown."""
    client = _broker_redis()
    if client is None:
        return None
    try:
        return int(client.llen("celery"))
    except redis.RedisError:
        return None


def celery_workers() -> tuple[list[str] | None, str]:
    """(names of the workers that answered a ping, problem); None when it could not be asked."""

    client = _broker_redis()
    if client is None:
        return None, "the broker is not Redis"
    # A throwaway app: a broadcast through the real one would create and keep its connection and
    # producer pools, which then outlive a change of broker URL (tests switch brokers per run).
    probe = Celery("berth-dashboard", broker=app.conf.broker_url, set_as_current=False)
    try:
        client.ping()  # fail fast: a control broadcast to a dead broker would retry for a long time
        answers = probe.control.inspect(timeout=0.5).ping() or {}
    except Exception as exc:  # noqa: BLE001 - anything from redis or kombu means "unknown" here
        return None, f"cannot reach the broker: {exc}"
    finally:
        probe.close()
    return sorted(answers), ""


@login_required
@staff_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Hosts, every workspace's services by status, recent failures and the task queue.

    A fixed number of queries whatever the number of services, hosts or events.
    """
    status = status_filter(request)
    context: dict[str, Any] = {
        **paged(request, selectors.service_list_all(status=status), status=status),
        "status": status,
    }
    template = "console/dashboard.html"
    if request.htmx.target == "dashboard-services":
        return render(request, f"{template}#services", context)
    counts = selectors.service_status_counts()
    hosts = list(selectors.host_list_with_usage())
    heartbeats = [h.last_heartbeat for h in hosts if h.last_heartbeat]
    context.update(
        {
            "hosts": hosts,
            "status_counts": [(value, label, counts.get(value, 0)) for value, label in ServiceStatus.choices],
            "service_total": sum(counts.values()),
            "warnings": selectors.event_list_warnings(since=timezone.now() - timedelta(hours=24)),
            "failed_services": selectors.service_list_all(status=ServiceStatus.FAILED)[:20],
            "queue_depth": celery_queue_depth(),
            "last_heartbeat": max(heartbeats) if heartbeats else None,
        }
    )
    return render(request, template, context)


@login_required
@staff_required
@require_GET
def dashboard_workers(request: HttpRequest) -> HttpResponse:
    """htmx, loaded after the page: which Celery workers answer a ping (it takes up to half a second)."""
    workers, problem = celery_workers()
    return render(request, "console/dashboard.html#workers", {"workers": workers, "workers_problem": problem})
