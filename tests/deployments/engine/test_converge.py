"""engine/converge.py driven step by step against the in-memory runtime (tests/fakes.py).

The real-dockerd tests (tests/deployments/test_engine.py) prove that deploys work; these pin
the convergence rules with exact instance counts at every step: create, rolling update, a
failed rollout keeping the old version, scaling during a rollout, an update on a full host.
"""

import pytest

from deployments.actions.services import service_create, service_patch
from deployments.choices import HostStatus, InstanceStatus, ServiceStatus
from deployments.engine.converge import converge_step
from deployments.engine.hosts import runtimes_from
from deployments.models import DockerHost, Instance, Service, ServiceVersion
from tests.fakes import FakeRuntime

pytestmark = pytest.mark.django_db


def config(image="example.com/app:1", instance=2, cpu=1, **metadata):
    return {
        "name": "rules",
        "containers": [{"image": image, "command": "serve", "port": 8000}],
        "metadata": {"instance": instance, "cpu": cpu, "memory": 256, **metadata},
    }


@pytest.fixture
def runtime():
    fake = FakeRuntime()
    with runtimes_from(lambda host: fake):
        yield fake


@pytest.fixture
def host(db):
    return DockerHost.objects.create(
        name="fake", url="unix:///fake.sock", address="127.0.0.1", status=HostStatus.READY, cpus=8, memory_mb=16384
    )


def step(service: Service) -> Service:
    converge_step(Service.objects.select_related("workspace", "current_version").get(pk=service.pk))
    return Service.objects.get(pk=service.pk)


def become_ready(service: Service, version: int | None = None) -> None:
    """What the prober does when health checks pass."""
    rows = Instance.objects.filter(service=service, status=InstanceStatus.RUNNING)
    if version is not None:
        rows = rows.filter(version__number=version)
    rows.update(ready=True, started=True)


def by_version(service: Service) -> dict[int, int]:
    counts: dict[int, int] = {}
    for number in Instance.objects.filter(service=service).values_list("version__number", flat=True):
        counts[number] = counts.get(number, 0) + 1
    return counts


def create(alice, team, cfg):
    service, _ = service_create(actor=alice, workspace=team, config=cfg)
    return service


def test_a_create_starts_every_instance_and_runs_once_they_are_ready(alice, team, host, runtime):
    service = step(create(alice, team, config(instance=3)))
    assert by_version(service) == {1: 3}
    assert len(runtime.started) == 3
    assert service.status != ServiceStatus.RUNNING
    become_ready(service)
    assert step(service).status == ServiceStatus.RUNNING


def test_a_rolling_update_surges_by_one_and_retires_old_instances_as_new_ones_become_ready(alice, team, host, runtime):
    service = step(create(alice, team, config()))
    become_ready(service)
    service = step(service)
    service_patch(actor=alice, service=service, patch={"containers[0].image": "example.com/app:2"})
    service = step(service)
    assert by_version(service) == {1: 2, 2: 1}  # desired 2 + surge 1
    become_ready(service, 2)
    service = step(service)
    assert by_version(service) == {1: 1, 2: 2}  # one old retired, the next new one started
    become_ready(service, 2)
    service = step(service)
    assert by_version(service) == {2: 2}
    assert service.status == ServiceStatus.RUNNING


def test_a_version_that_cannot_start_fails_and_the_old_one_keeps_serving(alice, team, host, runtime):
    runtime.missing_images.add("example.com/app:broken")
    service = step(create(alice, team, config()))
    become_ready(service)
    service = step(service)
    service_patch(actor=alice, service=service, patch={"containers[0].image": "example.com/app:broken"})
    service = step(service)  # the new instance fails to pull
    service = step(service)  # the rollout is declared failed, the failed instance removed
    assert by_version(service) == {1: 2}
    assert Instance.objects.filter(service=service, ready=True).count() == 2
    assert service.current_version.number == 1
    assert ServiceVersion.objects.get(service=service, number=2).failed


def test_scaling_during_a_rollout_converges_to_the_new_count_of_the_new_version(alice, team, host, runtime):
    service = step(create(alice, team, config()))
    become_ready(service)
    service = step(service)
    service_patch(actor=alice, service=service, patch={"containers[0].image": "example.com/app:2"})
    service = step(service)
    service_patch(actor=alice, service=service, patch={"metadata.instance": 4})
    for _ in range(6):
        become_ready(service)
        service = step(service)
    assert by_version(service) == {2: 4}
    assert service.status == ServiceStatus.RUNNING


def test_an_update_on_a_full_host_replaces_one_instance_at_a_time_and_completes(alice, team, runtime):
    DockerHost.objects.create(
        name="small", url="unix:///fake.sock", address="127.0.0.1", status=HostStatus.READY, cpus=2, memory_mb=4096
    )
    service = step(create(alice, team, config(cpu=1)))
    become_ready(service)
    service = step(service)
    service_patch(actor=alice, service=service, patch={"containers[0].env": [{"name": "A", "value": "2"}]})
    service = step(service)
    # No room to surge: one old instance gave way and a new one started in its room.
    assert by_version(service) == {1: 1, 2: 1}
    assert Instance.objects.filter(service=service, version__number=1, ready=True).count() == 1
    for _ in range(3):
        become_ready(service, 2)
        service = step(service)
    assert by_version(service) == {2: 2}
    assert service.status == ServiceStatus.RUNNING


def test_an_explicit_zero_unavailability_on_a_full_host_waits_with_the_reason(alice, team, runtime):
    DockerHost.objects.create(
        name="small", url="unix:///fake.sock", address="127.0.0.1", status=HostStatus.READY, cpus=2, memory_mb=4096
    )
    cfg = config(cpu=1, rolling_strategy={"max_unavailable": 0})
    service = step(create(alice, team, cfg))
    become_ready(service)
    service = step(service)
    service_patch(actor=alice, service=service, patch={"containers[0].env": [{"name": "A", "value": "2"}]})
    service = step(service)
    assert by_version(service) == {1: 2}
    assert "no host has room" in service.message
