"""Services on a real three-node Swarm through the real gateway: spread, scale, rolling update, failed version."""

import http.client
import threading
import time

import pytest

from deployments.actions import services, workspaces
from deployments.actions.hosts import host_register
from deployments.choices import ServiceStatus
from deployments.errors import ConfigInvalid
from deployments.models import Instance, Service
from tests.conftest import SERVICE_PREFIX
from tests.fixtures_gateway import FAST_CHECK, wait_routed
from tests.stack import wait_for

pytestmark = [pytest.mark.swarm, pytest.mark.docker, pytest.mark.redis]

PORT = 8000


def web_config(name: str, image: str, *, instance: int, version: str, pool: str, script: str | None = None) -> dict:
    """busybox httpd answering its version, with a fast HTTP readiness check, in pool `pool`."""
    serve = f"mkdir -p /www && echo {version} > /www/index.html && exec httpd -f -p {PORT} -h /www"
    return {
        "name": SERVICE_PREFIX + name,
        "containers": [
            {
                "image": image,
                "script": script or serve,
                "port": PORT,
                "health_check": {"http_get": {"path": "/", "port": PORT}} | FAST_CHECK,
            }
        ],
        "metadata": {"instance": instance, "memory": 32, "resource": pool, "eas": {"termination_grace_period": 1}},
    }


@pytest.fixture
def cluster(engine_stack, transactional_db, admin_user, swarm_cluster):
    return host_register(
        name="swarm", url=swarm_cluster.manager.url, address=swarm_cluster.manager.address, kind="swarm",
        actor=admin_user,
    )  # fmt: skip


def ready(service, number=None) -> list[Instance]:
    rows = Instance.objects.filter(service=service, ready=True)
    return list(rows.filter(version__number=number) if number else rows)


def create(user, config: dict):
    workspace = workspaces.workspace_current_ensure(user=user)
    service, _ = services.service_create(actor=user, workspace=workspace, config=config)
    return service


def wait_running(service, count: int, *, timeout: float = 90) -> None:
    def running():
        current = Service.objects.get(pk=service.pk)
        assert current.status != ServiceStatus.FAILED, current.message
        return current.status == ServiceStatus.RUNNING and len(ready(service)) == count

    wait_for(running, timeout=timeout, what=f"{service.name} Running with {count} ready instances")


class Load:
    """Threads sending GETs through the gateway until stopped; counts answers per body and failures."""

    def __init__(self, port: int, path: str, token: str, threads: int = 3):
        self.port, self.path, self.token = port, path, token
        self.stop, self.lock = threading.Event(), threading.Lock()
        self.bodies: dict[str, int] = {}
        self.failures: list[str] = []
        self.threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=30)

    @property
    def ok(self) -> int:
        return sum(self.bodies.values())

    def _run(self) -> None:
        deadline = time.monotonic() + 180  # bounded, whatever happens
        while not self.stop.is_set() and time.monotonic() < deadline:
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            try:
                conn.request("GET", self.path, headers={"Authorization": self.token})
                response = conn.getresponse()
                body = response.read().decode(errors="replace").strip()
                with self.lock:
                    if response.status == 200:
                        self.bodies[body] = self.bodies.get(body, 0) + 1
                    else:
                        self.failures.append(f"{time.time():.3f} {response.status} {body[:100]!r}")
            except (OSError, http.client.HTTPException) as exc:
                with self.lock:
                    self.failures.append(f"{time.time():.3f} {exc!r}")
            finally:
                conn.close()


def test_four_instances_spread_over_the_nodes_answer_through_the_gateway_and_scale(
    cluster, alice, busybox_image, gateway, swarm_cluster
):
    service = create(alice, web_config("spread", busybox_image, instance=4, version="v1", pool=cluster.name))
    wait_running(service, 4)
    rows = ready(service)
    assert {r.host_id for r in rows} == {cluster.pk}
    assert len({r.node for r in rows}) == 3, [(r.name, r.node) for r in rows]
    assert {r.node_address for r in rows} <= {n.address for n in swarm_cluster.nodes}
    wait_routed(service, gateway, 4)
    with Load(gateway.http_port, f"/api/predict/{service.name}/", service.token) as load:
        wait_for(lambda: load.ok > 40, timeout=15, what="answers through the gateway")
    assert load.bodies.keys() == {"v1"} and not load.failures, (load.bodies, load.failures[:5])

    for count in (6, 2):
        services.service_patch(actor=alice, service=service, patch={"metadata.instance": count})
        wait_running(service, count)
        wait_for(lambda c=count: Instance.objects.filter(service=service).count() == c, timeout=30, what="rows")
        wait_routed(service, gateway, count)
    tasks = cluster_tasks(cluster, service)
    assert len(tasks) == 2, tasks


def cluster_tasks(cluster, service) -> list:
    from deployments.engine.hosts import host_runtime

    return host_runtime(cluster).tasks({"berth.service": service.name}, current_only=True)


def test_a_rolling_update_under_load_fails_no_request_and_a_version_that_never_gets_ready_leaves_the_old_serving(
    cluster, alice, busybox_image, gateway
):
    service = create(alice, web_config("roll", busybox_image, instance=3, version="v1", pool=cluster.name))
    wait_running(service, 3)
    wait_routed(service, gateway, 3)
    with Load(gateway.http_port, f"/api/predict/{service.name}/", service.token) as load:
        wait_for(lambda: load.ok > 30, timeout=15, what="load running")
        new = web_config("roll", busybox_image, instance=3, version="v2", pool=cluster.name)
        services.service_update(actor=alice, service=service, config=new)
        wait_for(
            lambda: len(ready(service, 2)) == 3 and not Instance.objects.filter(service=service, version__number=1).exists(),
            timeout=120, what="rollout to v2",
        )  # fmt: skip
        wait_routed(service, gateway, 3)
        before = load.ok
        wait_for(lambda: load.ok > before + 20, timeout=15, what="answers after the rollout")
    print(f"\nrolling update on the cluster: {load.ok} requests, {len(load.failures)} failed, answers {load.bodies}")
    assert not load.failures, load.failures[:10]
    assert load.bodies.get("v2", 0) > 0

    # v3 listens on no port: it never becomes ready, fails, and v2 keeps serving.
    broken = web_config("roll", busybox_image, instance=3, version="v3", pool=cluster.name, script="sleep 3600")
    services.service_update(actor=alice, service=service, config=broken)
    with Load(gateway.http_port, f"/api/predict/{service.name}/", service.token) as load:
        wait_for(
            lambda: service.events.filter(reason="RolloutFailed").exists(), timeout=90, what="the v3 rollout to fail"
        )
        wait_for(
            lambda: not Instance.objects.filter(service=service, version__number=3).exists(), timeout=30, what="v3 gone"
        )
    service.refresh_from_db()
    assert service.current_version.number == 2
    assert len(ready(service, 2)) == 3
    assert load.bodies.keys() == {"v2"} and not load.failures, (load.bodies, load.failures[:5])


def test_a_config_with_two_containers_or_a_host_path_is_refused_on_a_cluster_with_the_reason(
    transactional_db, admin_user, alice, busybox_image
):
    host_register(name="swarm", url="unix:///var/run/docker.sock", address="127.0.0.1", kind="swarm", actor=admin_user)
    config = web_config("refused", busybox_image, instance=1, version="v1", pool="swarm")
    config["containers"].append({"image": busybox_image, "script": "sleep 3600"})
    with pytest.raises(ConfigInvalid) as refused:
        create(alice, config)
    assert refused.value.errors[0]["path"] == "containers"
    assert "one container per instance" in refused.value.errors[0]["message"]

    config = web_config("refused", busybox_image, instance=1, version="v1", pool="swarm")
    config["storage"] = [{"mount_path": "/data", "berth": {"host_path": "/srv/data"}}]
    with pytest.raises(ConfigInvalid) as refused:
        create(alice, config)
    paths = [e["path"] for e in refused.value.errors]
    assert "storage[0].berth.host_path" in paths, refused.value.errors
    assert "nfs" in refused.value.errors[paths.index("storage[0].berth.host_path")]["message"]

    config = web_config("refused", busybox_image, instance=1, version="v1", pool="nowhere")
    with pytest.raises(ConfigInvalid) as refused:
        create(alice, config)
    assert refused.value.errors[0]["path"] == "metadata.resource"
    assert not Service.objects.exists()
