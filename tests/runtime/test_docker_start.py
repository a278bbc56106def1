"""DockerRuntime.start against the real dockerd: one create call in the common case, and a leftover
container of the same name (a step that died mid-start) replaced rather than failing the start."""

import os

import docker
import pytest

from deployments.runtime import ContainerSpec
from deployments.runtime.docker import DockerRuntime

LABEL = f"berth.test-start={os.getpid()}"


@pytest.fixture
def runtime(dockerd):
    yield DockerRuntime("unix:///var/run/docker.sock")
    client = docker.from_env()
    for container in client.containers.list(all=True, filters={"label": LABEL}):
        container.remove(force=True)


def spec(image: str, name: str) -> ContainerSpec:
    key, value = LABEL.split("=")
    return ContainerSpec(
        name=name, image=image, labels={key: value}, entrypoint=["/bin/sh", "-c"],
        command=["exec httpd -f -p 8000 -h /"], port=8000, memory_mb=16,
    )  # fmt: skip


def test_a_started_container_reports_the_port_it_was_published_on(runtime, busybox_image):
    state = runtime.start(spec(busybox_image, f"berth-test-start-{os.getpid()}-a"))
    assert state.running and state.host_port
    published = docker.from_env().containers.get(state.id).attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]
    assert int(published["HostPort"]) == state.host_port


def test_a_leftover_container_of_the_same_name_is_replaced(runtime, busybox_image):
    name = f"berth-test-start-{os.getpid()}-b"
    first = runtime.start(spec(busybox_image, name))
    second = runtime.start(spec(busybox_image, name))
    assert second.id != first.id and second.running
    names = [c.name for c in docker.from_env().containers.list(all=True, filters={"label": LABEL})]
    assert names.count(name) == 1
