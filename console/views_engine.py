"""Console pages of the deploy engine: the live service page, lifecycle buttons, instance logs,
image test pulls, Docker hosts and the administrators' dashboard.

Same habits as console/views.py: typed function views, one view answers a page and its htmx
fragments, polled fragments answer 286 (htmx: stop polling) once nothing more will change,
and every write goes through deployments.lifecycle / deployments.services.
"""

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any
from urllib.parse import urlencode

import redis
from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_POST

from console import service_form as sf
from console import views_gateway
from console.views import _add_errors, _form_service, domain_errors
from deployments import engine, lifecycle, selectors, services, spec
from deployments.choices import SERVICE_ACTIVE, DeploymentKind, DeploymentStatus, HostStatus, ServiceStatus
from deployments.errors import ConfigInvalid, Conflict, NotFound
from deployments.models import Deployment, DockerHost, Instance, Service
from deployments.runtime import RuntimeError_

SERVICE_PAGE = "deployments/service_detail.html"
# The two polled regions of the service page. The status (badge, counts, phase timeline, buttons)
# is small and is what people watch, so it polls every second; instances and events every 2 s.
STATUS_TARGET = "service-status"
RUNTIME_TARGET = "service-runtime"
EVENT_LIMIT = 50
LOG_TAIL = 200
PAGE_SIZE = 25

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


# --- the service page ------------------------------------------------------------------------


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
        "counts": engine.service_counts(service),
        "deployment": deployment,
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
        **views_gateway.gateway_context(service, membership),
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


# --- instance logs ---------------------------------------------------------------------------


def _instance_get_for_user(request: HttpRequest, name: str, instance_name: str) -> tuple[Service, Instance]:
    """A service's instance for any member of its workspace (logs are read like the API's); NotFound otherwise."""
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    instance = selectors.service_instances(service=service).filter(name=instance_name).first()
    if instance is None:
        raise NotFound(f"service {name!r} has no instance {instance_name!r}")
    return service, instance


def _read_logs(instance: Instance, tail: int | str) -> tuple[str, str]:
    """(log text, why there is none): Docker is asked directly, so a host may be unreachable."""
    if instance.host is None:
        return "", "the instance is not placed on a host yet"
    try:
        return engine.host_runtime(instance.host).logs(instance.name, tail=tail), ""
    except RuntimeError_ as exc:
        return "", str(exc)


@login_required
@require_GET
def instance_logs(request: HttpRequest, name: str, instance: str) -> HttpResponse:
    """The last 200 log lines of an instance. `?follow=1` re-reads them every 2 s (the htmx
    fragment polls itself) until the instance is gone."""
    template = "deployments/instance_logs.html"
    fragment = request.htmx.target == "logs"
    follow = request.GET.get("follow") == "1"
    try:
        service, found = _instance_get_for_user(request, name, instance)
    except NotFound as exc:
        if fragment:
            return render(request, f"{template}#logs", {"gone": True, "instance_name": instance}, status=286)
        raise Http404(str(exc)) from exc
    text, problem = _read_logs(found, LOG_TAIL)
    context = {
        "service": service, "instance": found, "text": text, "problem": problem, "follow": follow, "tail": LOG_TAIL,
    }  # fmt: skip
    return render(request, f"{template}#logs" if fragment else template, context)


@login_required
@require_GET
@domain_errors
def instance_logs_download(request: HttpRequest, name: str, instance: str) -> HttpResponse:
    """Every log line Docker kept for the instance, as a .log attachment."""
    _, found = _instance_get_for_user(request, name, instance)
    # Docker's own "all" (the runtime passes `tail` through to the Engine API).
    text, problem = _read_logs(found, "all")
    if problem:
        message = f"cannot read the logs of {found.name}: {problem}\n"
        return HttpResponse(message, status=502, content_type="text/plain; charset=utf-8")
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{found.name}.log")
    return response


# --- the service form: test pull -------------------------------------------------------------


@login_required
@require_POST
@domain_errors
def service_test_pull(request: HttpRequest) -> HttpResponse:
    """Pull the images of the form as typed on a ready host, with the credentials a deploy would use.

    Saves nothing. On an edit page the stored secrets stand in for the masks (as the preview does).
    """
    service = _form_service(request)
    workspace = service.workspace if service else services.workspace_current_for_user(user=request.user)
    services.check_can_write(user=request.user, workspace=workspace)  # before the form: viewers learn nothing
    config, problems = sf.to_config(sf.from_post(request.POST))
    results: list[dict] = []
    errors = [message for _, message in problems]
    if not errors:
        if service is not None and service.current_version is not None:
            config = spec.join_secrets(config, service.current_version.secrets)
        try:
            results = lifecycle.image_test_pull(actor=request.user, workspace=workspace, config=config)
        except ConfigInvalid as exc:
            errors = [f"{e['path']}: {e['message']}" if e["path"] else e["message"] for e in exc.errors]
        except Conflict as exc:
            errors = [str(exc)]
    context = {"pull_results": results, "pull_errors": errors, "pull_done": True, "service": service}
    if request.htmx:
        return render(request, "deployments/service_form.html#test-pull", context)
    return render(request, "deployments/test_pull.html", context)  # the form posted without JavaScript


# --- Docker hosts (administrators) -----------------------------------------------------------


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Administrators only (after @login_required, so visitors are sent to log in first)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("only administrators manage Docker hosts and see the dashboard")
        return view(request, *args, **kwargs)

    return wrapper


PEM = forms.Textarea(attrs={"rows": 3, "spellcheck": "false"})


class HostForm(forms.Form):
    """Reads the host fields; lifecycle.host_register checks them (URL scheme) and saves."""

    name = forms.SlugField(label="Host name", max_length=63, help_text="Letters, digits, - and _; e.g. gpu-1")
    url = forms.CharField(
        label="Docker URL", max_length=255, initial="unix:///var/run/docker.sock",
        help_text="unix:///var/run/docker.sock, or tcp://host:2376 for a remote engine",
    )  # fmt: skip
    address = forms.CharField(
        label="Address", max_length=255, initial="127.0.0.1",
        help_text="The address instance ports are published on and the gateway dials",
    )  # fmt: skip
    tls_ca = forms.CharField(label="TLS CA certificate (PEM)", required=False, widget=PEM)
    tls_cert = forms.CharField(label="TLS client certificate (PEM)", required=False, widget=PEM)
    tls_key = forms.CharField(
        label="TLS client key (PEM)", required=False, widget=PEM,
        help_text="Only for tcp:// hosts with TLS. Stored encrypted.",
    )  # fmt: skip


def _host_page(request: HttpRequest, *, form: HostForm | None = None, status: int = 200) -> HttpResponse:
    context = {"hosts": selectors.host_list_with_usage(), "form": form or HostForm(), "actions": True}
    return render(request, "console/hosts.html", context, status=status)


def _host_get(name: str) -> DockerHost:
    host = DockerHost.objects.filter(name=name).first()
    if host is None:
        raise Http404(f"no Docker host named {name!r}")
    return host


@login_required
@staff_required
@require_GET
def host_list(request: HttpRequest) -> HttpResponse:
    return _host_page(request)


@login_required
@staff_required
@require_POST
@domain_errors
def host_add(request: HttpRequest) -> HttpResponse:
    """Register a Docker host (an existing name is updated) and read its capacity."""
    form = HostForm(request.POST)
    if not form.is_valid():
        return _host_page(request, form=form, status=400)
    data = form.cleaned_data
    tls = {key: data[f"tls_{key}"].strip() for key in ("ca", "cert", "key")}
    try:
        host = lifecycle.host_register(
            actor=request.user, name=data["name"], url=data["url"].strip(), address=data["address"].strip(),
            tls=tls if any(tls.values()) else None,
        )  # fmt: skip
    except ConfigInvalid as exc:
        _add_errors(form, exc)
        return _host_page(request, form=form, status=400)
    if host.status == HostStatus.UNREACHABLE:
        messages.warning(request, f"Saved host {host.name}, but Berth cannot reach it: {host.message}")
    else:
        messages.success(request, f"Saved host {host.name}: {host.cpus} CPUs, {host.memory_mb} MB memory.")
    return redirect("host-list")


@login_required
@staff_required
@require_POST
@domain_errors
def host_drain(request: HttpRequest, name: str, drain: bool) -> HttpResponse:
    host = lifecycle.host_drain(actor=request.user, host=_host_get(name), drain=drain)
    if drain:
        messages.success(request, f"Draining {host.name}: no new instances go there; running ones stay.")
    else:
        messages.success(request, f"{host.name} takes new instances again.")
    return redirect("host-list")


@login_required
@staff_required
@require_POST
@domain_errors
def host_remove(request: HttpRequest, name: str) -> HttpResponse:
    host = _host_get(name)
    try:
        lifecycle.host_remove(actor=request.user, host=host)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Removed host {name}.")
    return redirect("host-list")


# --- the administrators' dashboard -----------------------------------------------------------

_broker_clients: dict[str, redis.Redis] = {}


def _broker_redis() -> redis.Redis | None:
    """A Redis client for Celery's broker with short timeouts, so a dead broker cannot hang the page.

    Not engine.redis_client(): that one waits as long as the OS lets a connect take, and the
    broker is the one that holds the queue (it is REDIS_URL unless CELERY_BROKER_URL says otherwise).
    """
    from console.celery import app

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
    from celery import Celery

    from console.celery import app

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
    status = request.GET.get("status", "")
    if status not in ServiceStatus.values:
        status = ""
    page = Paginator(selectors.service_list_all(status=status), PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {"status": status} if status else {}
    context: dict[str, Any] = {
        "page": page,
        "status": status,
        "page_query": urlencode(filters) + "&" if filters else "",
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
