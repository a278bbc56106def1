"""The Swarm runtime against a real three-node swarm (tests/swarm_cluster.py): placement, host-mode ports,
scaling, limits, draining, a node cut off the network, and a private registry with credentials."""

import io
import tarfile
import time
import urllib.request

import pytest

from deployments.runtime import (
    HostUnreachable,
    ImageNotFound,
    NotSwarmManager,
    RegistryAuth,
    RegistryAuthFailed,
    RuntimeFailure,
    VersionSpec,
)
from deployments.runtime.swarm import SwarmRuntime
from tests import stack
from tests.fixtures_swarm import SWARM_REGISTRY_PASSWORD, SWARM_REGISTRY_USER

pytestmark = [pytest.mark.swarm, pytest.mark.docker]

PORT = 8080
# Writes its container's hostname (short id) as the page, says so on stdout (for task_logs), then serves it.
HTTPD = ["sh", "-c", f"mkdir -p /www && hostname > /www/index.html && echo serving on $(hostname) && "
         f"exec httpd -f -p {PORT} -h /www"]  # fmt: skip


def labels(version: str) -> dict[str, str]:
    return {
        "berth.installation": f"test-{stack.RUN_ID}",
        "berth.service": f"t{stack.RUN_ID}_web",
        "berth.version": version,
    }


def web_spec(image: str, version: str, **extra) -> VersionSpec:
    fields = dict(
        name=f"t{stack.RUN_ID}-web-v{version}",
        image=image,
        labels=labels(version),
        command=HTTPD,
        port=PORT,
        cpu=0.5,
        memory_mb=64,
        cpu_reservation=0.05,
        memory_reservation_mb=8,
        restart_delay_seconds=1,
        stop_grace_seconds=1,
    )
    return VersionSpec(**{**fields, **extra})


def running(runtime: SwarmRuntime, version: str) -> list:
    return [t for t in runtime.tasks(labels(version), current_only=True) if t.running and t.host_port]


def wait_running(runtime: SwarmRuntime, version: str, count: int, *, timeout: float = 60, where=None) -> list:
    """Exactly `count` running tasks with ports (and, with `where`, all of them passing it)."""

    def settled():
        tasks = running(runtime, version)
        if len(tasks) == count and len(runtime.tasks(labels(version), current_only=True)) == count:
            if where is None or all(where(t) for t in tasks):
                return tasks
        return None

    return stack.wait_for(settled, timeout=timeout, interval=0.3, what=f"{count} running tasks of version {version}")


def get(address: str, port: int) -> str:
    with urllib.request.urlopen(f"http://{address}:{port}/", timeout=3) as response:
        assert response.status == 200
        return response.read().decode().strip()


@pytest.fixture(scope="module")
def runtime(swarm_cluster) -> SwarmRuntime:
    return SwarmRuntime(swarm_cluster.manager.url)


@pytest.fixture(scope="module")
def web(runtime, busybox_image):
    """Version "1" of a busybox httpd service; each test scales it to what it needs."""
    spec = web_spec(busybox_image, "1")
    runtime.version_ensure(spec, 4)
    yield spec
    runtime.version_remove(spec.name)


def node_names(swarm_cluster, tasks) -> dict[str, int]:
    counts: dict[str, int] = {}
    for task in tasks:
        name = swarm_cluster.node_by_address(task.node_address).name
        counts[name] = counts.get(name, 0) + 1
    return counts


def test_it_lists_the_three_nodes_with_their_roles_and_capacity(runtime, swarm_cluster):
    nodes = runtime.nodes()

    assert [n.hostname for n in nodes] == ["node1", "node2", "node3"]
    assert [n.role for n in nodes] == ["manager", "worker", "worker"]
    assert [n.address for n in nodes] == [n.address for n in swarm_cluster.nodes]
    assert all(n.state == "ready" and n.availability == "active" for n in nodes)
    assert nodes[0].leader and not nodes[1].leader
    assert all(n.cpus > 0 and n.memory_bytes > 0 for n in nodes)
    info = runtime.info()
    assert info.cpus == int(sum(n.cpus for n in nodes))
    assert info.memory_bytes == sum(n.memory_bytes for n in nodes)
    assert info.server_version


def test_a_four_replica_version_spreads_over_the_nodes_and_every_task_answers_at_its_node_port(
    runtime, web, swarm_cluster
):
    runtime.version_scale(web.name, 4)
    tasks = wait_running(runtime, "1", 4)

    assert set(node_names(swarm_cluster, tasks)) == {"node1", "node2", "node3"}
    for task in tasks:  # from the root namespace, through the bridge, to the node's host-mode port
        # A container's hostname is its short id: the answer comes from this very task's container.
        assert get(task.node_address, task.host_port) == task.container_id[:12]
    assert sorted(t.slot for t in tasks) == [1, 2, 3, 4]
    assert all(t.labels == labels("1") and t.container_id and t.service_name == web.name for t in tasks)
    [version] = runtime.versions(labels("1"))
    assert (version.name, version.replicas) == (web.name, 4)
    logs = stack.wait_for(lambda: runtime.task_logs(tasks[0]), timeout=15, what="task logs")
    assert logs == f"serving on {tasks[0].container_id[:12]}\n"  # this task's lines only


def test_env_values_reach_the_container_as_written_not_as_swarm_templates(runtime, web, swarm_cluster, busybox_image):
    spec = web_spec(busybox_image, "6", env={"GREETING": "{{.Node.Hostname}} and {{ braces }}"})
    try:
        runtime.version_ensure(spec, 1)
        [task] = wait_running(runtime, "6", 1)
        container = swarm_cluster.node_by_address(task.node_address).client().containers.get(task.container_id)
        assert "GREETING={{.Node.Hostname}} and {{ braces }}" in container.attrs["Config"]["Env"]
        # Two versions of one service side by side, as in a rollout: one tasks() call sees both.
        both = runtime.tasks({"berth.service": f"t{stack.RUN_ID}_web"}, current_only=True)
        assert {t.service_name for t in both} == {web.name, spec.name}
    finally:
        runtime.version_remove(spec.name)


def test_a_second_ensure_finds_the_version_instead_of_creating_another(runtime, web):
    again = runtime.version_ensure(web, 4)

    assert again.name == web.name
    assert len(runtime.versions({"berth.service": f"t{stack.RUN_ID}_web"})) == 1


def test_cpu_and_memory_limits_and_labels_are_on_every_task_container(runtime, web, swarm_cluster):
    runtime.version_scale(web.name, 4)
    for task in wait_running(runtime, "1", 4):
        node = swarm_cluster.node_by_address(task.node_address)
        container = node.client().containers.get(task.container_id)  # through the node's own engine
        host_config = container.attrs["HostConfig"]
        assert host_config["NanoCpus"] == 500_000_000
        assert host_config["Memory"] == 64 * 1024 * 1024
        assert container.labels["berth.service"] == f"t{stack.RUN_ID}_web"
        assert container.labels["berth.version"] == "1"


def test_a_reservation_no_node_can_hold_keeps_the_task_pending_with_the_schedulers_reason(runtime, busybox_image):
    # Reservations are the scheduler's business (the container gets only the limits): show they are sent.
    biggest = max(n.memory_bytes for n in runtime.nodes()) // (1024 * 1024)
    spec = web_spec(busybox_image, "4", memory_mb=biggest * 2, memory_reservation_mb=biggest * 2)
    try:
        runtime.version_ensure(spec, 1)
        [task] = stack.wait_for(
            lambda: [t for t in runtime.tasks(labels("4")) if "insufficient resources" in t.error],
            timeout=20,
            what="a task the scheduler cannot place",
        )
        assert task.state == "pending" and not task.node_id and task.host_port is None
    finally:
        runtime.version_remove(spec.name)


def test_it_scales_four_to_six_to_two(runtime, web):
    runtime.version_scale(web.name, 4)
    four = wait_running(runtime, "1", 4)

    runtime.version_scale(web.name, 6)
    six = wait_running(runtime, "1", 6)
    assert all(get(t.node_address, t.host_port) for t in six)
    assert {t.id for t in four} < {t.id for t in six}  # scaling adds tasks; it never replaces running ones

    runtime.version_scale(web.name, 2)
    two = wait_running(runtime, "1", 2)
    assert all(get(t.node_address, t.host_port) for t in two)
    assert runtime.versions(labels("1"))[0].replicas == 2


def test_draining_a_node_moves_its_tasks_to_the_others(runtime, web, swarm_cluster):
    runtime.version_scale(web.name, 3)
    wait_running(runtime, "1", 3)
    node2 = next(n for n in runtime.nodes() if n.hostname == "node2")
    try:
        runtime.node_set_availability(node2.id, "drain")
        tasks = wait_running(runtime, "1", 3, where=lambda t: t.node_id != node2.id)
        assert all(get(t.node_address, t.host_port) for t in tasks)
        assert runtime.info().cpus < sum(n.cpus for n in runtime.nodes())  # a drained node adds no capacity
    finally:
        runtime.node_set_availability(node2.id, "active")
    assert next(n for n in runtime.nodes() if n.id == node2.id).availability == "active"


def test_a_node_cut_off_the_network_has_its_tasks_rescheduled(runtime, web, swarm_cluster):
    runtime.version_scale(web.name, 3)
    tasks = wait_running(runtime, "1", 3, timeout=90)
    # A worker that runs a task: the harness has one manager, and a cluster without it cannot reschedule.
    [on_worker, *_] = [t for t in tasks if t.node_address != swarm_cluster.manager.address]
    victim, victim_id = swarm_cluster.node_by_address(on_worker.node_address), on_worker.node_id
    began = time.monotonic()
    swarm_cluster.cut(victim)
    try:
        # Its logs are out of reach: a clear error within the timeout, never a hang.
        with pytest.raises(RuntimeFailure) as lost:
            runtime.task_logs(on_worker, timeout=2)
        assert lost.value.reason == "LogsUnavailable" and time.monotonic() - began < 6
        stack.wait_for(
            lambda: next(n for n in runtime.nodes() if n.id == victim_id).state == "down", timeout=30, what="node down"
        )
        down_after = time.monotonic() - began
        moved = wait_running(runtime, "1", 3, timeout=60, where=lambda t: t.node_id != victim_id)
        rescheduled_after = time.monotonic() - began
        print(f"\nswarm: {victim.name} cut; marked down after {down_after:.1f}s, its tasks running elsewhere "
              f"after {rescheduled_after:.1f}s (heartbeat {swarm_cluster.heartbeat_seconds}s)")  # fmt: skip
        assert all(get(t.node_address, t.host_port) for t in moved)
    finally:
        swarm_cluster.restore(victim)
    stack.wait_for(
        lambda: next(n for n in runtime.nodes() if n.id == victim_id).state == "ready", timeout=60, what="node back"
    )


def test_a_private_image_runs_on_every_node_with_the_right_credentials(runtime, swarm_registry, swarm_cluster):
    address, image = swarm_registry
    spec = web_spec(image, "2", auth=RegistryAuth(SWARM_REGISTRY_USER, SWARM_REGISTRY_PASSWORD))
    try:
        version = runtime.version_ensure(spec, 3)
        assert version.image.startswith(f"{image}@sha256:")  # pinned: every node runs the same bytes
        tasks = wait_running(runtime, "2", 3, timeout=90)
        assert set(node_names(swarm_cluster, tasks)) == {"node1", "node2", "node3"}  # each node pulled it
        for task in tasks:
            assert get(task.node_address, task.host_port)
    finally:
        runtime.version_remove(spec.name)


def test_a_wrong_registry_password_is_a_clear_error_naming_the_registry(runtime, swarm_registry):
    address, image = swarm_registry
    spec = web_spec(image, "3", auth=RegistryAuth(SWARM_REGISTRY_USER, "not-the-password"))

    with pytest.raises(RegistryAuthFailed, match=f"registry {address} refused the credentials"):
        runtime.version_ensure(spec, 1)
    assert runtime.versions(labels("3")) == []  # nothing was created


def test_an_unreachable_manager_is_host_unreachable(tmp_path):
    with pytest.raises(HostUnreachable, match="cannot reach the Swarm manager"):
        SwarmRuntime(f"unix://{tmp_path}/nothing.sock").nodes()


def test_a_worker_endpoint_is_refused_as_not_a_swarm_manager(swarm_cluster):
    worker = SwarmRuntime(swarm_cluster.nodes[1].url)

    with pytest.raises(NotSwarmManager, match="not a Swarm manager"):
        worker.nodes()


def test_a_task_whose_node_cannot_pull_reports_an_error_naming_the_registry(runtime, swarm_registry, swarm_cluster):
    # An image no node has, pinned already (so nothing is checked before the service exists): the nodes
    # try to pull it with a wrong password, and the task's error is what Berth shows.
    address, _ = swarm_registry
    node = swarm_cluster.manager.client()
    empty = io.BytesIO()
    with tarfile.open(fileobj=empty, mode="w") as archive:
        info = tarfile.TarInfo(f"only-in-the-registry-{stack.RUN_ID}")
        archive.addfile(info, io.BytesIO(b""))
    repository = f"{address}/team/unpulled"
    node.api.import_image_from_data(empty.getvalue(), repository=repository, tag="1")
    good = RegistryAuth(SWARM_REGISTRY_USER, SWARM_REGISTRY_PASSWORD)
    for line in node.api.push(repository, tag="1", auth_config={"username": good.username, "password": good.password},
                              stream=True, decode=True):  # fmt: skip
        assert "error" not in line
    pinned = runtime.resolve_image(f"{repository}:1", good)
    node.images.remove(f"{repository}:1")
    spec = web_spec(pinned, "5", auth=RegistryAuth(SWARM_REGISTRY_USER, "not-the-password"))
    try:
        runtime.version_ensure(spec, 1)
        [task, *_] = stack.wait_for(
            lambda: [t for t in runtime.tasks(labels("5")) if t.error], timeout=60, what="a task that failed to start"
        )
        print(f"\nswarm: task {task.state}: {task.error!r}")
        # Swarm itself only says the image is missing; with the version's credentials the cause comes out.
        assert isinstance(runtime.task_error(task), ImageNotFound)
        assert f"from registry {address}" in str(runtime.task_error(task))
        error = runtime.task_error(task, auth=spec.auth)
        assert isinstance(error, RegistryAuthFailed)
        assert f"registry {address} refused the credentials" in str(error)
    finally:
        runtime.version_remove(spec.name)
