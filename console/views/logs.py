"""Logs: one instance's or a whole service's (every instance interleaved by time), with
tail / since / search / timestamps options, colours rendered, follow, download.
"""

from ansi2html import Ansi2HTMLConverter
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header, urlencode
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET

from console.views.common import domain_errors
from deployments import selectors
from deployments.engine import logs as engine_logs
from deployments.errors import NotFound
from deployments.models import Instance, Service

TEMPLATE = "deployments/instance_logs.html"

FRAGMENT_TARGET = "logs"


def _instance_get_for_user(request: HttpRequest, name: str, instance_name: str) -> tuple[Service, Instance]:
    """A service's instance for any member of its workspace (logs are read like the API's); NotFound otherwise."""
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    instance = selectors.service_instances(service=service).filter(name=instance_name).first()
    if instance is None:
        raise NotFound(f"service {name!r} has no instance {instance_name!r}")
    return service, instance


def _html(text: str) -> str:
    """Log text as HTML: escaped, ANSI colours as inline-styled spans (other escape codes dropped)."""
    return mark_safe(Ansi2HTMLConverter(inline=True, dark_bg=True).convert(text, full=False))  # noqa: S308 — escaped


def _query(options: engine_logs.LogOptions, follow: bool) -> str:
    """The options as a query string, so a followed view polls with exactly what it shows."""
    params = {"tail": options.tail, "q": options.search}
    if options.since_label():
        params["since"] = options.since_label()
    if options.timestamps:
        params["timestamps"] = "1"
    if follow:
        params["follow"] = "1"
    return urlencode({key: value for key, value in params.items() if value != ""})


def _render(
    request: HttpRequest, service: Service, instances: list[Instance], instance: Instance | None, logs_url: str
) -> HttpResponse:
    options = engine_logs.LogOptions.from_query(request.GET)
    follow = request.GET.get("follow") == "1"
    lines, problems = engine_logs.read(instances, options)
    text = engine_logs.as_text(lines, timestamps=options.timestamps, with_instance=instance is None, ansi=True)
    context = {
        "service": service,
        "instance": instance,
        "html": _html(text) if text else "",
        "line_count": len(lines),
        "problems": problems,
        "options": options,
        "follow": follow,
        "logs_url": logs_url,
        "query": _query(options, follow),
        "tail_choices": engine_logs.TAIL_CHOICES,
        "since_choices": list(engine_logs.SINCE_CHOICES),
        "instance_count": len(instances),
    }
    fragment = request.htmx.target == FRAGMENT_TARGET
    return render(request, f"{TEMPLATE}#logs" if fragment else TEMPLATE, context)


@login_required
@require_GET
def instance_logs(request: HttpRequest, name: str, instance: str) -> HttpResponse:
    """An instance's logs. `?follow=1` re-reads them every 2 s (the htmx fragment polls itself)
    until the instance is gone; tail, since, q and timestamps as in LogOptions.from_query."""
    try:
        service, found = _instance_get_for_user(request, name, instance)
    except NotFound as exc:
        if request.htmx.target == FRAGMENT_TARGET:
            return render(request, f"{TEMPLATE}#logs", {"gone": True, "instance_name": instance}, status=286)
        raise Http404(str(exc)) from exc
    return _render(request, service, [found], found, request.path)


@login_required
@require_GET
@domain_errors
def service_logs(request: HttpRequest, name: str) -> HttpResponse:
    """Every instance of the service in one view, interleaved by time, each line named by its instance."""
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    instances = list(selectors.service_instances(service=service))
    return _render(request, service, instances, None, request.path)


@login_required
@require_GET
@domain_errors
def instance_logs_download(request: HttpRequest, name: str, instance: str) -> HttpResponse:
    """Every log line Docker kept for the instance, as a .log attachment (colour codes stripped)."""
    _, found = _instance_get_for_user(request, name, instance)
    options = engine_logs.LogOptions(tail="all", timestamps=True)
    lines, problems = engine_logs.read([found], options)
    if problems:
        message = f"cannot read the logs of {found.name}: {problems[0]}\n"
        return HttpResponse(message, status=502, content_type="text/plain; charset=utf-8")
    text = engine_logs.as_text(lines, timestamps=False, with_instance=False)
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"{found.name}.log")
    return response
