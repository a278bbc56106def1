"""Docker hosts (administrators): list, add, drain, remove.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from console.forms import HostForm
from console.views.clusters import cluster_cards
from console.views.common import add_errors, domain_errors, staff_required
from deployments import selectors
from deployments.actions import hosts as host_actions
from deployments.choices import HostStatus
from deployments.errors import ConfigInvalid, Conflict
from deployments.models import DockerHost


def _host_page(request: HttpRequest, *, form: HostForm | None = None, status: int = 200) -> HttpResponse:
    context = {"hosts": selectors.host_list_with_usage(), "form": form or HostForm(), "actions": True}
    context["clusters"] = cluster_cards(request.user)
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
        host = host_actions.host_register(
            actor=request.user, name=data["name"], url=data["url"].strip(), address=data["address"].strip(), kind=data["kind"],
            tls=tls if any(tls.values()) else None,
        )  # fmt: skip
    except ConfigInvalid as exc:
        add_errors(form, exc)
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
    host = host_actions.host_drain(actor=request.user, host=_host_get(name), drain=drain)
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
        host_actions.host_remove(actor=request.user, host=host)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Removed host {name}.")
    return redirect("host-list")
