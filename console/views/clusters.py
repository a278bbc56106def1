"""Swarm clusters on the Hosts page (administrators): each cluster's nodes, Drain / Activate per node."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from console.views.common import domain_errors, staff_required
from deployments.actions import clusters
from deployments.errors import Conflict
from deployments.models import DockerHost


def cluster_cards(user) -> list[dict]:
    """For the Hosts page: every cluster with its nodes, or why the manager could not be asked."""
    cards = []
    for host in DockerHost.objects.filter(kind="swarm").order_by("name"):
        try:
            cards.append({"host": host, "nodes": clusters.cluster_nodes(actor=user, host=host), "error": ""})
        except Conflict as exc:
            cards.append({"host": host, "nodes": [], "error": str(exc)})
    return cards


@login_required
@staff_required
@require_POST
@domain_errors
def node_availability(request: HttpRequest, name: str, node_id: str, availability: str) -> HttpResponse:
    host = DockerHost.objects.filter(name=name, kind="swarm").first()
    if host is None:
        raise Http404(f"no Swarm cluster named {name!r}")
    hostname = request.POST.get("hostname") or node_id
    try:
        clusters.cluster_node_availability(actor=request.user, host=host, node_id=node_id, availability=availability)
    except Conflict as exc:
        messages.error(request, str(exc))
    else:
        if availability == "drain":
            messages.success(request, f"Draining node {hostname}: Swarm moves its instances to the other nodes.")
        else:
            messages.success(request, f"Node {hostname} takes instances again.")
    return redirect("host-list")
