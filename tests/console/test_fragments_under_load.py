"""The service page's polled regions stay cheap while the engine works: a fixed number of queries
whatever the number of instances, mounts and events, and not one Docker call on the request path.

The status and runtime regions and the dashboard are pinned in test_engine_views.py; this adds the
gateway page, its metrics poll and the mounts fragment, and drives every polled URL with a runtime
that fails the test on any call. Timing is `benchmarks/pages.py` (no timing asserts on a shared machine).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deployments.actions.services import service_create
from deployments.choices import EventType, InstanceStatus
from deployments.engine.hosts import runtimes_from
from deployments.models import DockerHost, Event, Instance, InstanceMount

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
STATUS_POLL = {"HX-Request": "true", "HX-Target": "service-status"}
RUNTIME_POLL = {"HX-Request": "true", "HX-Target": "service-runtime"}


class NoDockerOnRequests:
    """A runtime whose every method fails the test: the pages must be served from rows."""

    def __getattr__(self, name):
        raise AssertionError(f"a page called the Docker runtime ({name}) on the request path")


@pytest.fixture
def service(alice, team, flask_config):
    created, _ = service_create(actor=alice, workspace=team, config=flask_config)
    return created


@pytest.fixture
def host(db):
    return DockerHost.objects.create(name="node-1", url="unix:///x.sock", address="10.0.0.5", cpus=64, memory_mb=65536)


def add_instances(service, host, ordinals) -> None:
    for ordinal in ordinals:
        instance = Instance.objects.create(
            service=service, version=service.current_version, host=host, ordinal=ordinal, cpu=1, memory_mb=64,
            name=f"berth-{service.name}-v1-{ordinal}", status=InstanceStatus.RUNNING, reason="Running",
            host_port=32000 + ordinal, ready=ordinal % 2 == 0,
        )  # fmt: skip
        InstanceMount.objects.bulk_create(
            InstanceMount(instance=instance, position=p, mount_path=f"/data{p}", kind="empty_dir") for p in range(3)
        )
    Event.objects.bulk_create(
        Event(service=service, reason="Tick", message=f"tick {o}", type=EventType.NORMAL) for o in ordinals
    )


def polled_urls(service) -> list[tuple[str, dict]]:
    detail = reverse("service-detail", args=[service.name])
    return [
        (detail, {}),
        (detail, STATUS_POLL),
        (detail, RUNTIME_POLL),
        (reverse("service-gateway", args=[service.name]), {}),
        (reverse("api-service-metrics", args=[service.name]) + "?minutes=60", {}),
        (reverse("service-mounts", args=[service.name]), HTMX),
        (reverse("service-mounts", args=[service.name]), {}),
    ]


def queries_per_url(client, service) -> dict[str, int]:
    counts = {}
    for url, headers in polled_urls(service):
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, headers=headers)
        assert response.status_code in (200, 286), (url, headers, response.status_code)
        counts[f"{url} {headers.get('HX-Target') or headers.get('HX-Request') or ''}"] = len(captured.captured_queries)
    return counts


def test_every_polled_region_makes_as_many_queries_for_20_instances_as_for_one(client, alice, service, host):
    client.force_login(alice)
    with runtimes_from(lambda h: NoDockerOnRequests()):
        add_instances(service, host, [0])
        one = queries_per_url(client, service)
        add_instances(service, host, range(1, 20))
        twenty = queries_per_url(client, service)
    assert twenty == one
    assert max(one.values()) <= 20, one


def test_the_mounts_fragment_lists_every_instance_without_asking_docker(client, alice, service, host):
    client.force_login(alice)
    add_instances(service, host, range(4))
    with runtimes_from(lambda h: NoDockerOnRequests()):
        body = client.get(reverse("service-mounts", args=[service.name]), headers=HTMX).content.decode()
    for ordinal in range(4):
        assert f"berth-{service.name}-v1-{ordinal}" in body
    assert body.count("/data2") == 4
