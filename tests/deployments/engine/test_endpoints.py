"""Where the gateway dials an instance, from the host's `reach` and the container's state (pure rules)."""

from deployments.engine.networks import instance_endpoint, workspace_network_name
from deployments.models import DockerHost
from deployments.runtime import LABEL_PORT, ContainerState


def state(*, ip: str | None = "172.30.0.7", host_port: int | None = None, port: str | None = "8000") -> ContainerState:
    labels = {LABEL_PORT: port} if port else {}
    return ContainerState(id="c1", name="berth-x-v1-0", labels=labels, status="running", host_port=host_port, ip=ip)


def host(url: str = "unix:///var/run/docker.sock", reach: str = "auto") -> DockerHost:
    return DockerHost(name="h", url=url, address="10.0.0.5", reach=reach)


def test_a_unix_host_is_reached_at_the_container_address_and_a_tcp_host_at_its_published_port():
    assert instance_endpoint(host(), state()) == {"address": "172.30.0.7", "port": 8000, "host_port": None}
    remote = host("tcp://gpu-1:2376")
    assert instance_endpoint(remote, state(host_port=32001)) == {
        "address": "10.0.0.5",
        "port": 32001,
        "host_port": 32001,
    }


def test_an_explicit_reach_overrides_what_the_url_suggests():
    assert host("tcp://127.0.0.1:2375", "container").reaches_containers
    assert not host(reach="published").reaches_containers
    endpoint = instance_endpoint(host("tcp://127.0.0.1:2375", "container"), state())
    assert endpoint["address"] == "172.30.0.7"


def test_a_container_started_before_workspace_networks_keeps_its_published_port():
    assert instance_endpoint(host(), state(port=None, host_port=32005))["port"] == 32005
    assert instance_endpoint(host(), state(ip=None, port=None, host_port=None)) == {
        "address": "",
        "port": None,
        "host_port": None,
    }


def test_network_names_are_per_installation_and_workspace(settings):
    settings.BERTH_INSTALLATION = "prod"
    assert workspace_network_name("team-a") == "berth-prod-ws-team-a"
