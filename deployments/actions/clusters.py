"""Swarm clusters as an administrator sees them: their nodes with the instances on each, drain / activate."""

from dataclasses import asdict

from deployments.access import check_is_staff
from deployments.engine.cluster import SWARM
from deployments.engine.hosts import host_runtime
from deployments.errors import Conflict, NotFound
from deployments.models import DockerHost, Instance
from deployments.runtime import RuntimeFailure


def cluster_nodes(*, actor, host: DockerHost) -> list[dict]:
    """The cluster's nodes (hostname, address, role, state, availability, CPUs, memory, labels) with the
    names of the Berth instances on each. Raises Conflict when the manager cannot be asked."""
    check_is_staff(actor)
    if host.kind != SWARM:
        raise NotFound(f"{host.name} is a single Docker engine, not a Swarm cluster")
    try:
        nodes = host_runtime(host).nodes()
    except RuntimeFailure as exc:
        raise Conflict(str(exc)) from exc
    on: dict[str, list[str]] = {}
    for name, node in Instance.objects.filter(host=host).order_by("name").values_list("name", "node"):
        on.setdefault(node, []).append(name)
    return [
        {**asdict(node), "memory_mb": node.memory_bytes // (1024 * 1024), "instances": on.get(node.hostname, [])}
        for node in nodes
    ]


def cluster_node_availability(*, actor, host: DockerHost, node_id: str, availability: str) -> None:
    """`drain`: Swarm moves the node's tasks elsewhere and places no new ones there; `active` takes it back."""
    check_is_staff(actor)
    if host.kind != SWARM:
        raise NotFound(f"{host.name} is a single Docker engine, not a Swarm cluster")
    if availability not in ("active", "drain", "pause"):
        raise Conflict(f"availability is active, drain or pause, not {availability!r}")
    try:
        host_runtime(host).node_set_availability(node_id, availability)
    except (RuntimeFailure, ValueError) as exc:
        raise Conflict(str(exc)) from exc
