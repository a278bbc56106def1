"""The live service page: status, deployment timeline, instances, events, lifecycle buttons.
"""

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from console.views import gateway
from console.views.common import domain_errors
from deployments import selectors, spec
from deployments.actions import lifecycle, services
from deployments.choices import SERVICE_ACTIVE, DeploymentKind, DeploymentStatus, ServiceStatus
from deployments.engine.status import service_counts
from deployments.errors import Conflict, NotFound
from deployments.models import Deployment, Service
from deployments.queued import queued_note

SERVICE_PAGE = "deployments/service_detail.html"


# The two polled regions of the service page. The status (badge, counts, phase timeline, buttons)
# is small and is what people watch, so it polls every second; instances and events every 2 s.
STATUS_TARGET = "service-status"


RUNTIME_TARGET = "service-runtime"


EVENT_LIMIT = 50


# What a deployment goes through, by kind. The engine records the phase of deploying kinds on the
# Deployment row; stop and delete have no phases of their own, so their steps follow its status.
DEPLOY_STEPS = ("queued", "pulling", "creating", "starting", "health", "running")


RESTART_STEPS = ("queued", "starting", "health", "running")


TEARDOWN_STEPS = {
    DeploymentKind.STOP: ("queued", "stopping", "stopped"),
    DeploymentKind.DELETE: ("queued", "deleting", "deleted"),
}


RESTARTABLE = (
    ServiceStatus.RUNNING, ServiceStatus.WAITING, ServiceStatus.UPDATING, ServiceStatus.SCALING, ServiceStatus.FAILED,
)  # fmt: skip


NOT_STOPPABLE = (ServiceStatus.NOT_DEPLOYED, ServiceStatus.STOPPED, ServiceStatus.STOPPING, ServiceStatus.DELETING)


def deployment_timeline(deployment: Deployment | None) -> list[dict[str, str]]:
    """The deployment's steps as [{name, state}], state one of done / current / todo / failed.

    A failed deployment's row keeps no record of the step it failed in, so the steps stay
    neutral and a red "failed" takes the last step's place.
    """
    if deployment is None:
        return []
    if deployment.kind in TEARDOWN_STEPS:
        steps = TEARDOWN_STEPS[deployment.kind]
        at = {DeploymentStatus.QUEUED: 0, DeploymentStatus.RUNNING: 1}.get(deployment.status, len(steps) - 1)
    else:
        steps = RESTART_STEPS if deployment.kind == DeploymentKind.RESTART else DEPLOY_STEPS
        at = steps.index(deployment.phase) if deployment.phase in steps else 0
        if deployment.status == DeploymentStatus.QUEUED:
            at = 0
        elif deployment.status == DeploymentStatus.SUCCEEDED:
            at = len(steps) - 1
    if deployment.status == DeploymentStatus.FAILED:
        return [{"name": step, "state": "todo"} for step in steps[:-1]] + [{"name": "failed", "state": "failed"}]
    finished = deployment.status == DeploymentStatus.SUCCEEDED
    return [
        {"name": step, "state": "done" if i < at or (finished and i == at) else "current" if i == at else "todo"}
        for i, step in enumerate(steps)
    ]


def _lifecycle_buttons(service: Service) -> list[dict[str, str]]:
    """The lifecycle actions that make sense in the service's status (lifecycle.* decides in the end)."""
    status = service.status
    buttons = []
    if status == ServiceStatus.NOT_DEPLOYED:
        buttons.append({"action": "start", "label": "Deploy", "style": "primary"})
    if status in (ServiceStatus.STOPPED, ServiceStatus.FAILED):
        buttons.append({"action": "start", "label": "Start", "style": "primary"})
    if status in RESTARTABLE:
        buttons.append({"action": "restart", "label": "Restart", "style": ""})
    if status not in NOT_STOPPABLE:
        buttons.append(
            {
                "action": "stop",
                "label": "Stop",
                "style": "danger",
                "confirm": f"Stop {service.name}? Every instance is removed; config, versions and token are kept.",
            }
        )
    for button in buttons:
        button["url"] = reverse(f"service-{button['action']}", args=[service.name])
    return buttons


def is_settled(service: Service, deployment: Deployment | None) -> bool:
    """Whether the page can stop polling: the status is one that stays and no worker is mid-step.

    The engine sets Stopped before it records the event and finishes the deployment, so a
    status alone can settle a moment early. A merely queued deployment does not hold polling
    (nothing moves until a worker claims it).
    """
    working = deployment is not None and deployment.status == DeploymentStatus.RUNNING
    return service.status not in SERVICE_ACTIVE and not working


def _status_context(service: Service, membership, deployment: Deployment | None) -> dict[str, Any]:
    return {
        "service": service,
        "membership": membership,
        "polling": not is_settled(service, deployment),
        "counts": service_counts(service),
        "deployment": deployment,
        "queued_note": queued_note(deployment),
        "timeline": deployment_timeline(deployment),
        "buttons": _lifecycle_buttons(service) if membership.can_write else [],
    }


def _runtime_context(service: Service, deployment: Deployment | None) -> dict[str, Any]:
    return {
        "service": service,
        "polling": not is_settled(service, deployment),
        "instances": list(selectors.service_instances(service=service)),
        "events": list(selectors.service_events(service=service, limit=EVENT_LIMIT)),
        "event_limit": EVENT_LIMIT,
    }


@login_required
@require_GET
def service_detail(request: HttpRequest, name: str) -> HttpResponse:
    """The service page: status, counts, the latest deployment's phases, instances, events, logs.

    The status region and the instances-and-events region poll this view (told apart by
    HX-Target) while the service is changing, and get 286 once its status is one that stays.
    """
    target = request.htmx.target
    polled = target in (STATUS_TARGET, RUNTIME_TARGET)
    try:
        service, membership = selectors.service_get_for_user(user=request.user, name=name)
    except NotFound as exc:
        if polled:
            # Deleted while someone watched it: say so in place and stop polling. Outsiders get the
            # same answer for a service of another workspace, so it reveals nothing.
            return render(request, f"{SERVICE_PAGE}#gone", {"name": name, "target": target}, status=286)
        raise Http404(str(exc)) from exc
    deployment = selectors.service_latest_deployment(service=service)
    status = 286 if is_settled(service, deployment) else 200
    if target == STATUS_TARGET:
        context = _status_context(service, membership, deployment)
        return render(request, f"{SERVICE_PAGE}#status", context, status=status)
    if target == RUNTIME_TARGET:
        return render(request, f"{SERVICE_PAGE}#runtime", _runtime_context(service, deployment), status=status)
    context = {
        **_status_context(service, membership, deployment),
        **_runtime_context(service, deployment),
        "config_json": spec.canonical_json(services.service_config(service=service)),
        "versions": service.versions.select_related("created_by").order_by("-number"),
        **gateway.gateway_context(service, membership),
    }
    return render(request, SERVICE_PAGE, context)


LIFECYCLE_ACTIONS: dict[str, Callable[..., Deployment]] = {
    "stop": lifecycle.service_stop,
    "start": lifecycle.service_start,
    "restart": lifecycle.service_restart,
}


@login_required
@require_POST
@domain_errors
def service_action(request: HttpRequest, name: str, action: str) -> HttpResponse:
    """Stop, start (or deploy a draft) or restart; a refusal (already stopped, ...) becomes a message."""
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    was = service.status
    try:
        LIFECYCLE_ACTIONS[action](actor=request.user, service=service)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        starting = "Deploying" if was == ServiceStatus.NOT_DEPLOYED else "Starting"
        done = {"stop": "Stopping", "start": starting, "restart": "Restarting"}
        messages.success(request, f"{done[action]} {service.name}.")
    return redirect("service-detail", name=service.name)


@login_required
@require_POST
@domain_errors
def service_rollback(request: HttpRequest, name: str, number: int) -> HttpResponse:
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    try:
        deployment = lifecycle.service_rollback(actor=request.user, service=service, number=number)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        if deployment is None:
            messages.success(request, f"Version {number} is now current; it runs when {service.name} is started.")
        else:
            messages.success(request, f"Rolling {service.name} back to version {number}.")
    return redirect("service-detail", name=service.name)
