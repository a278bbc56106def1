"""Celery tasks: a primary key in, one engine call out. The rows are the job records, Celery is transport.

Task names stay `deployments.tasks.*` (the module they were first defined in): messages already
queued in Redis, and beat's schedule, address tasks by name.
"""

import logging

from celery import shared_task
from django.conf import settings

from deployments.engine.alerts import alerts_dispatch_pass
from deployments.engine.converge import service_converge
from deployments.engine.jobs import deployment_execute, deployment_restart_execute
from deployments.engine.reconcile import reconcile_pass

log = logging.getLogger(__name__)


def teardown_route() -> dict:
    """`apply_async` options that send a teardown (stop, delete, scale down) to its own queue, served by
    its own worker, so a slow teardown never takes the slots other tenants' deploys wait for."""
    return {"queue": settings.BERTH_TEARDOWN_QUEUE} if settings.BERTH_TEARDOWN_QUEUE else {}


def _converge_on_teardown_queue(service_id: int) -> None:
    service_converge_task.apply_async((service_id,), **teardown_route())


@shared_task(name="deployments.tasks.deployment_execute", acks_late=True, ignore_result=True)
def deployment_execute_task(deployment_id: int) -> None:
    """Run a queued Deployment (claimed atomically; a redelivery is harmless)."""
    deployment_execute(deployment_id=deployment_id)


@shared_task(name="deployments.tasks.service_converge", acks_late=True, ignore_result=True)
def service_converge_task(service_id: int) -> None:
    """One convergence step, e.g. after the prober changed an instance's readiness."""
    service_converge(service_id=service_id)


@shared_task(name="deployments.tasks.service_restart", acks_late=True, ignore_result=True)
def deployment_restart_task(deployment_id: int) -> None:
    """Run a queued restart Deployment: every instance restarted in place."""
    deployment_restart_execute(deployment_id=deployment_id)


@shared_task(name="deployments.tasks.reconcile", ignore_result=True, expires=30)
def reconcile_task() -> None:
    """Periodic (beat): desired state in the DB vs containers on every host."""
    stats = reconcile_pass(teardown=_converge_on_teardown_queue if settings.BERTH_TEARDOWN_QUEUE else None)
    log.debug("reconcile: %s", stats)


@shared_task(name="deployments.tasks.alerts", ignore_result=True, expires=30)
def alerts_task() -> None:
    """Periodic (beat): events into incidents, incidents into deliveries, deliveries sent or retried."""
    stats = alerts_dispatch_pass()
    if stats["opened"] or stats["failed"]:
        log.info("alerts: %s", stats)
