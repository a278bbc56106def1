"""Celery tasks of the actions layer (autodiscovered by console/celery.py), named `deployments.tasks.*` like the engine's.

The autoscaler runs as a beat task every BERTH_AUTOSCALE_INTERVAL (1 s) rather than a loop in the
gateway controller: it scales through the actions layer, which the gateway must not import, and
beat is where Berth's other periodic work lives. A tick that waited longer than its interval is
dropped (`expires`), and a Redis lock keeps two ticks from overlapping, so a slow step never piles up.
"""

import logging

from celery import shared_task
from django.conf import settings

from deployments.actions.scaler_step import scaler_tick
from deployments.locks import redis_client

log = logging.getLogger(__name__)


@shared_task(name="deployments.tasks.autoscale", ignore_result=True, expires=2)
def autoscale_task() -> None:
    """Periodic (beat): one autoscaler / cron scaler step for every service that has one."""
    lock = redis_client().lock("berth:autoscale-tick", timeout=max(30, settings.BERTH_AUTOSCALE_INTERVAL * 10))
    if not lock.acquire(blocking=False):
        return  # the previous tick is still running
    try:
        scaler_tick()
    finally:
        try:
            lock.release()
        except Exception:  # expired meanwhile: the next tick takes it
            pass
