"""The deploy engine against a real dockerd, Redis, Celery worker (with beat) and prober."""

import urllib.request

import docker
import pytest

from deployments.actions import hosts as host_actions
from deployments.actions import lifecycle, services, workspaces
from deployments.choices import ServiceStatus
from deployments.models import Event, Instance, Service
from tests.conftest import SERVICE_PREFIX
from tests.stack import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.redis]

FAST_CHECK = {
    "initial_delay_seconds": 0,
    "period_seconds": 1,
    "timeout_seconds": 1,
    "success_threshold": 1,
    "failure_threshold": 2,
}


def web_config(name: str, image: str, *, instance: int = 2, body: str = "ok", env: dict | None = None) -> dict:
    """busybox httpd serving `body` on port 8000, with an HTTP health check."""
    return {
        "name": SERVICE_PREFIX + name,
        "containers": [
            {
                "image": image,
                "script": f"mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p 8000 -h /www",
                "port": 8000,
                "env": [{"name": k, "value": v} for k, v in (env or {}).items()],
                "health_check": {"http_get": {"path": "/index.html", "port": 8000}, **FAST_CHECK},
            }
        ],
        "metadata": {"instance": instance, "memory": 64, "eas": {"termination_grace_period": 1}},
    }


def status_of(name: str) -> str | None:
    service = Service.objects.filter(name=name).first()
    return service.status if service else None


def wait_status(name: str, status: str, timeout: float = 60) -> Service:
    def reached():
        current = status_of(name)
        if current == ServiceStatus.FAILED and status != ServiceStatus.FAILED:
            service = Service.objects.get(name=name)
            raise AssertionError(f"{name} failed: {service.message}")
        return current == status

    wait_for(reached, timeout=timeout, what=f"{name} to be {status} (now {status_of(name)})")
    return Service.objects.get(name=name)


def get(instance, path: str = "/index.html") -> str:
    with urllib.request.urlopen(f"http://{instance.address}:{instance.port}{path}", timeout=3) as response:
        return response.read().decode().strip()


def containers_of(name: str) -> list:
    return docker.from_env().containers.list(all=True, filters={"label": f"berth.service={name}"})


def test_a_created_service_reaches_running_and_each_instance_answers(local_host, alice, busybox_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    service, _ = services.service_create(actor=alice, workspace=workspace, config=web_config("web", busybox_image))
    service = wait_status(service.name, ServiceStatus.RUNNING)
    instances = list(Instance.objects.filter(service=service))
    assert len(instances) == 2 and all(i.ready for i in instances)
    for instance in instances:
        assert get(instance) == "ok"
    reasons = list(Event.objects.filter(service=service).values_list("reason", flat=True))
    assert "Started" in reasons and "Running" in reasons
    # On a local host nothing is published: the gateway dials the container address (test_networks.py).
    for container in containers_of(service.name):
        assert not container.attrs["HostConfig"]["PortBindings"]


def test_stop_start_and_delete_leave_nothing_behind(local_host, alice, busybox_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    service, _ = services.service_create(
        actor=alice, workspace=workspace, config=web_config("cycle", busybox_image, instance=1)
    )
    service = wait_status(service.name, ServiceStatus.RUNNING)
    lifecycle.service_stop(actor=alice, service=service)
    service = wait_status(service.name, ServiceStatus.STOPPED)
    assert containers_of(service.name) == []
    assert service.current_version is not None and service.token
    lifecycle.service_start(actor=alice, service=service)
    service = wait_status(service.name, ServiceStatus.RUNNING)
    assert len(containers_of(service.name)) == 1
    services.service_delete(actor=alice, service=service)
    wait_for(lambda: not Service.objects.filter(name=service.name).exists(), timeout=30, what="delete")
    assert containers_of(service.name) == []


def test_a_killed_container_is_restarted_and_recorded(local_host, alice, busybox_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    service, _ = services.service_create(
        actor=alice, workspace=workspace, config=web_config("crash", busybox_image, instance=1)
    )
    service = wait_status(service.name, ServiceStatus.RUNNING)
    instance = Instance.objects.get(service=service)
    docker.from_env().containers.get(instance.container_id).kill()
    wait_for(lambda: Instance.objects.get(pk=instance.pk).restarts == 1, timeout=30, what="restart recorded")
    wait_status(service.name, ServiceStatus.RUNNING)
    restarted = Instance.objects.get(pk=instance.pk)
    assert restarted.last_state["exitCode"] == 137
    assert Event.objects.filter(service=service, reason="Restarted", type="Warning").exists()
    assert get(restarted) == "ok"


def test_a_command_that_exits_at_once_fails_with_its_last_log_lines(local_host, alice, busybox_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config("exits", busybox_image, instance=1)
    config["containers"][0]["script"] = "echo model file missing: /models/m.bin >&2; exit 3"
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    service = wait_status(service.name, ServiceStatus.FAILED, timeout=90)
    assert "exited with code 3" in service.message
    assert "model file missing" in service.message


def test_an_image_that_does_not_exist_fails_with_a_clear_reason(local_host, alice, busybox_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config("noimage", busybox_image, instance=1)
    config["containers"][0]["image"] = "127.0.0.1:1/berth/does-not-exist:1"
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    service = wait_status(service.name, ServiceStatus.FAILED, timeout=60)
    assert "does-not-exist" in service.message
    assert containers_of(service.name) == []


def test_modify_rolls_out_a_new_version_and_a_broken_one_keeps_the_old_serving(local_host, alice, busybox_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    service, _ = services.service_create(
        actor=alice, workspace=workspace, config=web_config("roll", busybox_image, body="v1")
    )
    service = wait_status(service.name, ServiceStatus.RUNNING)

    services.service_patch(
        actor=alice,
        service=service,
        patch={"containers[0].script": web_config("roll", busybox_image, body="v2")["containers"][0]["script"]},
    )
    wait_for(
        lambda: Instance.objects.filter(service__name=service.name, version__number=2, ready=True).count() == 2
        and not Instance.objects.filter(service__name=service.name, version__number=1).exists(),
        timeout=60,
        what="rollout to v2",
    )
    service = wait_status(service.name, ServiceStatus.RUNNING)
    assert {get(i) for i in Instance.objects.filter(service=service)} == {"v2"}

    # A version that never becomes ready: old instances keep serving, the version is marked failed.
    service.refresh_from_db()
    services.service_patch(actor=alice, service=service, patch={"containers[0].script": "sleep 3600"})
    wait_for(lambda: service.versions.filter(number=3, failed=True).exists(), timeout=60, what="v3 marked failed")
    service = wait_status(service.name, ServiceStatus.RUNNING)
    assert service.current_version.number == 2
    assert {get(i) for i in Instance.objects.filter(service=service)} == {"v2"}
    assert Event.objects.filter(service=service, reason="RolloutFailed").exists()

    lifecycle.service_rollback(actor=alice, service=service, number=1)
    wait_for(
        lambda: {i.version.number for i in Instance.objects.filter(service=service, ready=True)} == {1}
        and Instance.objects.filter(service=service).count() == 2,
        timeout=60,
        what="rollback to v1",
    )
    assert {get(i) for i in Instance.objects.filter(service=service)} == {"v1"}


def test_killing_the_worker_mid_deploy_converges_to_exactly_the_desired_containers(
    engine_stack, local_host, alice, busybox_image
):
    import os
    import signal

    from tests import stack

    # Freeze the session's worker (and its beat) so that a doomed worker takes the deploy.
    frozen = stack.process_tree(engine_stack["worker"].pid)
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        doomed = stack.start_manage(
            "worker-doomed",
            ["-m", "celery", "-A", "console", "worker", "--pool", "solo", "--loglevel", "INFO"],
            engine_stack["env"],
        )
        wait_for(
            lambda: "ready." in (stack.VAR / "test-worker-doomed.log").read_text(), timeout=30, what="doomed worker"
        )
        workspace = workspaces.workspace_current_ensure(user=alice)
        service, _ = services.service_create(
            actor=alice, workspace=workspace, config=web_config("killed", busybox_image, instance=6)
        )
        wait_for(lambda: len(containers_of(service.name)) >= 1, timeout=30, what="the first container")
        doomed.kill()
        doomed.wait()
        started_before_kill = len(containers_of(service.name))
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    assert started_before_kill < 6, "the worker finished before it was killed: the test did not interrupt a deploy"
    service = wait_status(service.name, ServiceStatus.RUNNING, timeout=90)
    containers = containers_of(service.name)
    rows = set(Instance.objects.filter(service=service).values_list("name", flat=True))
    assert len(containers) == 6
    assert {c.name for c in containers} == rows


def test_a_service_waits_with_a_reason_when_no_host_has_room(local_host, alice, busybox_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config("toobig", busybox_image, instance=1)
    config["metadata"]["memory"] = local_host.memory_mb * 4
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    wait_for(lambda: "no host has room" in Service.objects.get(pk=service.pk).message, timeout=30, what="the reason")
    service.refresh_from_db()
    assert service.status == ServiceStatus.WAITING
    assert Event.objects.filter(service=service, reason="Unschedulable").exists()
    assert containers_of(service.name) == []


def test_an_unreachable_host_is_marked_with_the_reason_and_gets_no_instances(local_host, alice, busybox_image):
    gone = host_actions.host_register(name="gone", url="tcp://127.0.0.1:1", address="127.0.0.1")
    assert gone.status == "Unreachable"
    assert "tcp://127.0.0.1:1" in gone.message
    workspace = workspaces.workspace_current_ensure(user=alice)
    service, _ = services.service_create(
        actor=alice, workspace=workspace, config=web_config("placed", busybox_image, instance=2)
    )
    wait_status(service.name, ServiceStatus.RUNNING)
    assert set(Instance.objects.filter(service=service).values_list("host__name", flat=True)) == {"local"}


def test_several_containers_form_one_instance_sharing_its_network(local_host, alice, busybox_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config("pair", busybox_image, instance=1)
    config["containers"].append(
        {
            "image": busybox_image,
            "script": "mkdir -p /s && echo from-sidecar > /s/index.html && exec httpd -f -p 8001 -h /s",
        }
    )
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    service = wait_status(service.name, ServiceStatus.RUNNING)
    instance = Instance.objects.get(service=service)
    assert len(containers_of(service.name)) == 2
    main = docker.from_env().containers.get(instance.container_id)
    # The main container reaches the sidecar on localhost: one network namespace.
    exit_code, output = main.exec_run(["wget", "-qO-", "http://127.0.0.1:8001/index.html"])
    assert exit_code == 0 and output.decode().strip() == "from-sidecar"


def test_a_failing_liveness_check_restarts_the_container(local_host, alice, busybox_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config("alive", busybox_image, instance=1)
    config["containers"][0]["script"] = "mkdir -p /tmp && touch /tmp/alive && " + config["containers"][0]["script"]
    config["containers"][0]["liveness_check"] = {"exec": {"command": ["cat", "/tmp/alive"]}, **FAST_CHECK}
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    service = wait_status(service.name, ServiceStatus.RUNNING)
    instance = Instance.objects.get(service=service)
    docker.from_env().containers.get(instance.container_id).exec_run(["rm", "/tmp/alive"])
    wait_for(lambda: Instance.objects.get(pk=instance.pk).restarts >= 1, timeout=30, what="a liveness restart")
    assert Event.objects.filter(service=service, reason="Restarted", message__contains="liveness").exists()
    wait_status(service.name, ServiceStatus.RUNNING)


def test_a_startup_check_holds_readiness_until_it_passes(local_host, alice, busybox_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config("startup", busybox_image, instance=1)
    # The server answers at once, but the startup check waits for a file written 4 s later.
    config["containers"][0]["script"] = (
        "mkdir -p /tmp && (sleep 4; touch /tmp/started) & " + config["containers"][0]["script"]
    )
    config["containers"][0]["startup_check"] = {
        "exec": {"command": ["cat", "/tmp/started"]},
        **FAST_CHECK,
        "failure_threshold": 30,
    }
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    wait_for(
        lambda: Instance.objects.filter(service=service, status="Running").exists(), timeout=30, what="container up"
    )
    import time

    time.sleep(2)
    instance = Instance.objects.get(service=service)
    assert instance.started is False and instance.ready is False
    wait_status(service.name, ServiceStatus.RUNNING, timeout=30)
    instance.refresh_from_db()
    assert instance.started and instance.ready


def test_a_memory_limit_docker_refuses_fails_with_a_clear_reason(local_host, alice, busybox_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config("tinymem", busybox_image, instance=1)
    config["metadata"]["memory"] = 1  # MB: below Docker's minimum
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    service = wait_status(service.name, ServiceStatus.FAILED, timeout=60)
    assert "memory" in service.message.lower()
    assert containers_of(service.name) == []
