"""Failures of one service's (or one host's) convergence, kept from spreading to the others.

Reconcile walks every host and every service in one pass: an exception from one of them
must cost that one a Warning event and a logged traceback, never the rest of the pass.
"""

import logging
from datetime import timedelta

from django.utils import timezone

from deployments.errors import BerthError
from deployments.events import event_record
from deployments.models import Event, Service
from deployments.runtime import RuntimeFailure

log = logging.getLogger(__name__)

REASON = "ReconcileError"
# Reconcile runs every few seconds: a lasting failure is said again at this pace, not at every pass.
REPEAT_AFTER = timedelta(minutes=10)


def failure_sentence(exc: BaseException) -> str:
    """What went wrong in one line a person can read: domain errors say it themselves; anything
    else is named with its type (the traceback goes to the worker log, not to the event)."""
    if isinstance(exc, (BerthError, RuntimeFailure)):
        return str(exc)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__} {detail}".strip()
    return f"converging this service failed with an unexpected {text}; the worker log has the traceback"


def service_failure_record(*, service_id: int, exc: BaseException) -> None:
    """Log the traceback and record one Warning event on the service (not one per pass: the same
    message is recorded again only after REPEAT_AFTER)."""
    log.error("reconcile: converging service %s failed", service_id, exc_info=exc)
    service = Service.objects.filter(pk=service_id).first()
    if service is None:
        return
    message = failure_sentence(exc)
    recent = timezone.now() - REPEAT_AFTER
    if Event.objects.filter(service=service, reason=REASON, message=message, created_at__gte=recent).exists():
        return
    event_record(service=service, reason=REASON, message=message, warning=True)
