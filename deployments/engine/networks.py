"""Where instances live on the network, and where the gateway and the prober dial them.

Every workspace gets its own Docker bridge network on each host it uses (created on first use):
instances of one workspace reach each other by address, Docker's inter-network isolation
(the DOCKER-ISOLATION iptables chains) drops traffic between workspaces, and the gateway, on
the Docker host itself, reaches every network's container addresses directly. See docs/gateway.md.

A network is left in place when its workspace's last instance on that host goes: removing it
then would race with another service of the workspace starting there, and an empty bridge costs
only one subnet of the host's address pool (docs/gateway.md says how to size the pool).
"""

from __future__ import annotations

from django.conf import settings

from deployments.models import DockerHost
from deployments.runtime import LABEL_INSTALLATION, LABEL_PORT, LABEL_WORKSPACE, ContainerState, Runtime


def workspace_network_name(workspace: str) -> str:
    """The Docker network of a workspace (by slug) on any host: unique per installation."""
    return f"berth-{settings.BERTH_INSTALLATION}-ws-{workspace}"


def workspace_network_ensure(runtime: Runtime, workspace: str) -> str:
    """The workspace's network on this host, created (labelled) when it does not exist yet; returns its name."""
    name = workspace_network_name(workspace)
    runtime.network_ensure(name, labels={LABEL_INSTALLATION: settings.BERTH_INSTALLATION, LABEL_WORKSPACE: workspace})
    return name


def instance_endpoint(host: DockerHost, state: ContainerState) -> dict:
    """The Instance fields saying where to dial the main container `state` of an instance on `host`.

    On a host the gateway reaches directly (DockerHost.reaches_containers), that is the container's
    address on its workspace network and its own port; otherwise the host address and the published
    port. A container without the port label or an address (started before per-workspace networks)
    is dialled at its published port, as it was then.
    """
    port = state.labels.get(LABEL_PORT)
    if host.reaches_containers and state.ip and port:
        return {"address": state.ip, "port": int(port), "host_port": state.host_port}
    if state.host_port:
        return {"address": host.address, "port": state.host_port, "host_port": state.host_port}
    return {"address": "", "port": None, "host_port": None}
