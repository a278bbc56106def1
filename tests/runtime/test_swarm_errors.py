"""How a task's error text becomes a domain error (pure: no cluster is asked without credentials)."""

import pytest

from deployments.runtime import ImageNotFound, RegistryAuthFailed, RuntimeFailure, TaskState
from deployments.runtime.swarm import SwarmRuntime

IMAGE = "registry.example.com:5000/team/app:1@sha256:" + "a" * 64


def task(error: str) -> TaskState:
    return TaskState(
        id="t1", service_id="s1", service_name="app-v1", labels={}, slot=1, node_id="n1", node_address="10.0.0.2",
        host_port=None, desired_state="shutdown", state="rejected", error=error, image=IMAGE,
    )  # fmt: skip


@pytest.fixture
def runtime():
    return SwarmRuntime("unix:///nonexistent/manager.sock")


def test_a_task_without_an_error_is_no_error(runtime):
    assert runtime.task_error(task("")) is None


@pytest.mark.parametrize(
    "text",
    [
        "pull access denied: no basic auth credentials",
        "Head https://registry.example.com:5000/v2/team/app/manifests/1: unauthorized: authentication required",
    ],
)
def test_registry_refusals_name_the_registry(runtime, text):
    error = runtime.task_error(task(text))

    assert isinstance(error, RegistryAuthFailed)
    assert "registry registry.example.com:5000 refused the credentials" in str(error)


def test_a_missing_image_names_the_registry_the_nodes_pull_from(runtime):
    error = runtime.task_error(task(f"No such image: {IMAGE}"))

    assert isinstance(error, ImageNotFound)
    assert "from registry registry.example.com:5000" in str(error)


def test_a_permission_error_inside_the_container_is_not_a_registry_error(runtime):
    error = runtime.task_error(task('starting container failed: exec: "/app": permission denied'))

    assert type(error) is RuntimeFailure and error.reason == "TaskFailed"
    assert "permission denied" in str(error)
