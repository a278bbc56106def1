"""Celery tasks: a primary key in, one engine/service call out. Rows are the job records."""

import logging

from celery import shared_task

from deployments import engine

log = logging.getLogger(__name__)


@shared_task(acks_late=True, ignore_result=True)
def ping() -> str:
    """A no-op used by the tests to check that a worker consumes the queue."""
    return "pong"


@shared_task(acks_late=True, ignore_result=True)
def deployment_execute(deployment_id: int) -> None:
    """Run a queued Deployment (claimed atomically; a redelivery is harmless)."""
    engine.deployment_execute(deployment_id=deployment_id)


@shared_task(acks_late=True, ignore_result=True)
def service_converge(service_id: int) -> None:
    """One convergence step, e.g. after the prober changed an instance's readiness."""
    engine.service_converge(service_id=service_id)


@shared_task(acks_late=True, ignore_result=True)
def service_restart(deployment_id: int) -> None:
    engine.service_restart_execute(deployment_id=deployment_id)


@shared_task(ignore_result=True, expires=30)
def reconcile() -> None:
    """Periodic (beat): desired state in the DB vs containers on every host."""
    stats = engine.reconcile_pass()
    log.debug("reconcile: %s", stats)
