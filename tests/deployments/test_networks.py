"""Per-workspace Docker networks, and instances dialled at their container address (real dockerd)."""

import urllib.request

import docker
import pytest

from deployments.actions import hosts as host_actions
from deployments.actions import services, workspaces
from deployments.choices import ServiceStatus
from deployments.engine.networks import workspace_network_name
from deployments.gateway.haproxy import RuntimeAPI
from deployments.models import Instance
from tests.deployments.test_engine import wait_status, web_config
from tests.fixtures_gateway import deploy, echo_config, http

pytestmark = [pytest.mark.docker, pytest.mark.redis]


def running(user, config: dict) -> Instance:
    workspace = workspaces.workspace_current_ensure(user=user)
    service, _ = services.service_create(actor=user, workspace=workspace, config=config)
    service = wait_status(service.name, ServiceStatus.RUNNING)
    return Instance.objects.get(service=service)


def container_ip(instance: Instance) -> str:
    networks = docker.from_env().containers.get(instance.container_id).attrs["NetworkSettings"]["Networks"]
    return next(n["IPAddress"] for n in networks.values() if n.get("IPAddress"))


def fetch_from(instance: Instance, address: str) -> str | None:
    """An HTTP GET of /index.html from inside the instance's container, with a 2 s timeout: the body, or
    None when no answer came. (`nc`, because the static busybox's wget crashes resolving even an IP.)"""
    container = docker.from_env().containers.get(instance.container_id)
    request = f"printf 'GET /index.html HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {address} 8000"
    result = container.exec_run(["sh", "-c", request])
    output = result.output.decode(errors="replace")
    if result.exit_code != 0 or not output.startswith("HTTP/1.1 200"):
        return None
    return output.split("\r\n\r\n", 1)[1].strip()


def test_instances_of_different_workspaces_cannot_reach_each_other_but_those_of_one_workspace_can(
    local_host, alice, bob, busybox_image
):
    mine = running(alice, web_config("netmine", busybox_image, instance=1, body="mine"))
    neighbour = running(alice, web_config("netneighbour", busybox_image, instance=1, body="neighbour"))
    theirs = running(bob, web_config("nettheirs", busybox_image, instance=1, body="theirs"))

    assert fetch_from(mine, container_ip(neighbour)) == "neighbour"
    assert fetch_from(mine, container_ip(theirs)) is None
    assert fetch_from(theirs, container_ip(mine)) is None

    client = docker.from_env()
    for user, instance in ((alice, mine), (alice, neighbour), (bob, theirs)):
        slug = workspaces.workspace_current_ensure(user=user).slug
        networks = client.containers.get(instance.container_id).attrs["NetworkSettings"]["Networks"]
        assert list(networks) == [workspace_network_name(slug)]
        labels = client.networks.get(workspace_network_name(slug)).attrs["Labels"]
        assert labels["berth.workspace"] == slug and labels["berth.installation"].startswith("test-")


def test_on_a_local_host_nothing_is_published_and_the_instance_is_dialled_at_its_container_address(
    local_host, alice, busybox_image
):
    instance = running(alice, web_config("netdirect", busybox_image, instance=1, body="direct"))
    container = docker.from_env().containers.get(instance.container_id)
    assert container.attrs["HostConfig"]["PortBindings"] in ({}, None)
    assert not any(container.attrs["NetworkSettings"]["Ports"].values())
    assert instance.host_port is None
    assert (instance.address, instance.port) == (container_ip(instance), 8000)
    # Ready means the prober passed its HTTP check at that address.
    assert instance.ready
    with urllib.request.urlopen(f"http://{instance.address}:{instance.port}/index.html", timeout=3) as response:
        assert response.read().decode().strip() == "direct"


def test_a_host_set_to_published_ports_publishes_on_its_address_and_is_dialled_there(local_host, alice, busybox_image):
    host_actions.host_register(name=local_host.name, url=local_host.url, address="127.0.0.1", reach="published")
    instance = running(alice, web_config("netpublished", busybox_image, instance=1, body="published"))
    bindings = docker.from_env().containers.get(instance.container_id).attrs["HostConfig"]["PortBindings"]["8000/tcp"]
    assert bindings[0]["HostIp"] == "127.0.0.1"
    assert (instance.address, instance.port) == ("127.0.0.1", instance.host_port) and instance.host_port
    with urllib.request.urlopen(f"http://127.0.0.1:{instance.port}/index.html", timeout=3) as response:
        assert response.read().decode().strip() == "published"


def test_the_gateway_routes_to_the_container_addresses(local_host, alice, python_image_tag, gateway):
    service = deploy(alice, echo_config("netgw", python_image_tag), gateway)
    instances = list(Instance.objects.filter(service=service))
    assert all(i.host_port is None and i.address == container_ip(i) for i in instances)
    stats = RuntimeAPI(gateway.directory / "admin.sock", gateway.directory / "master.sock").show_stat()
    dialled = {row["svname"]: row.get("addr") for row in stats}
    for instance in instances:
        assert dialled[f"i{instance.pk}"] == f"{instance.address}:8000"
    hosts = {
        http(gateway.predict_url(service.name), headers={"Authorization": service.token}).json()["hostname"]
        for _ in range(10)
    }
    assert len(hosts) == 2
