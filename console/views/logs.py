"""An instance's logs: tail, follow, download."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET

from console.views.common import domain_errors
from deployments import selectors
from deployments.engine import hosts
from deployments.errors import NotFound
from deployments.models import Instance, Service
from deployments.runtime import RuntimeFailure

LOG_TAIL = 200


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
        return hosts.host_runtime(instance.host).logs(instance.name, tail=tail), ""
    except RuntimeFailure as exc:
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
