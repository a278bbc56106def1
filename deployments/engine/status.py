"""A service's status and counts, derived from its instances; the running deployment's phase."""

from django.db import transaction
from django.utils import timezone

from deployments.choices import (
    DeploymentStatus,
    ServiceStatus,
)
from deployments.events import event_record
from deployments.models import Deployment, Instance, Service

# Stopped services, failed ones and those being deleted keep no instances.
ZERO_INSTANCE_STATES = {ServiceStatus.STOPPING, ServiceStatus.STOPPED, ServiceStatus.DELETING}


def _phase(service: Service, phase: str) -> None:
    Deployment.objects.filter(service=service, status=DeploymentStatus.RUNNING).update(phase=phase)


def _deployment_finish(service: Service, *, ok: bool, message: str = "") -> None:
    Deployment.objects.filter(service=service, status=DeploymentStatus.RUNNING).update(
        status=DeploymentStatus.SUCCEEDED if ok else DeploymentStatus.FAILED,
        phase="running" if ok else "failed",
        message=message,
        finished_at=timezone.now(),
    )


def service_counts(service: Service) -> dict:
    """EAS's counts: Total = desired instances, Running = ready instances of the current version."""
    total = 0 if service.status in ZERO_INSTANCE_STATES else service.instance
    running = Instance.objects.filter(service=service, version_id=service.current_version_id, ready=True).count()
    running = min(running, total)
    return {"total": total, "running": running, "pending": max(0, total - running)}


def service_refresh_status(*, service_id: int) -> None:
    """Derive the service status from its instances (called after every change in readiness)."""
    with transaction.atomic():
        service = Service.objects.select_for_update().filter(pk=service_id).first()
        if service is None or service.status in ZERO_INSTANCE_STATES or service.status == ServiceStatus.FAILED:
            return
        counts = service_counts(service)
        rolling = Instance.objects.filter(service=service).exclude(version_id=service.current_version_id).exists()
        if counts["running"] == counts["total"] and not rolling:
            if service.status != ServiceStatus.RUNNING:
                Service.objects.filter(pk=service.pk).update(status=ServiceStatus.RUNNING, message="")
                event_record(
                    service=service,
                    reason="Running",
                    message=f"{counts['running']} of {counts['total']} instances ready",
                )
            _deployment_finish(service, ok=True)
        elif rolling:
            Service.objects.filter(pk=service.pk).update(status=ServiceStatus.UPDATING)
        elif (
            service.status not in (ServiceStatus.CREATING, ServiceStatus.SCALING, ServiceStatus.STARTING)
            or counts["running"] < counts["total"]
        ):
            new_status = ServiceStatus.SCALING if service.status == ServiceStatus.SCALING else ServiceStatus.WAITING
            Service.objects.filter(pk=service.pk).update(status=new_status)
            _phase(service, "health")
