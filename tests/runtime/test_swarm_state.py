"""Reading the Engine API's Swarm objects (pure; shapes as dockerd 20.10 returns them)."""

from deployments.runtime.swarm_state import node_info, task_state, version_state


def node(addr: str, manager_addr: str | None = None) -> dict:
    raw = {
        "ID": "n1",
        "Spec": {"Role": "manager", "Availability": "active", "Labels": {"zone": "a"}},
        "Description": {
            "Hostname": "node1",
            "Resources": {"NanoCPUs": 2_000_000_000, "MemoryBytes": 4 << 30},
            "Engine": {"EngineVersion": "20.10.24"},
        },
        "Status": {"State": "ready", "Addr": addr},
    }
    if manager_addr:
        raw["ManagerStatus"] = {"Leader": True, "Reachability": "reachable", "Addr": manager_addr}
    return raw


def test_a_node_reads_its_role_capacity_and_address():
    info = node_info(node("10.0.0.11", "10.0.0.11:2377"))

    assert (info.hostname, info.role, info.state, info.availability) == ("node1", "manager", "ready", "active")
    assert (info.cpus, info.memory_bytes, info.labels, info.leader) == (2.0, 4 << 30, {"zone": "a"}, True)
    assert info.address == "10.0.0.11"


def test_a_manager_reporting_0_0_0_0_is_reached_at_its_raft_address():
    assert node_info(node("0.0.0.0", "10.0.0.11:2377")).address == "10.0.0.11"


def test_a_task_reads_its_host_port_once_even_when_ipv4_and_ipv6_bindings_are_both_listed():
    port = {"Protocol": "tcp", "TargetPort": 8080, "PublishedPort": 32768, "PublishMode": "host"}
    raw = {
        "ID": "t1",
        "ServiceID": "s1",
        "Slot": 2,
        "NodeID": "n2",
        "DesiredState": "running",
        "CreatedAt": "2026-12-01T08:20:50Z",
        "Spec": {"ContainerSpec": {"Image": "reg:5000/team/app:1@sha256:abc"}},
        "Status": {
            "Timestamp": "2026-12-01T08:21:12Z",
            "State": "running",
            "Message": "started",
            "ContainerStatus": {"ContainerID": "c1", "PID": 42, "ExitCode": 0},
            "PortStatus": {"Ports": [port, dict(port)]},
        },
    }
    service = {"ID": "s1", "Spec": {"Name": "app-v1", "Labels": {"berth.version": "1"}}}

    task = task_state(raw, service, "10.0.0.12")

    assert (task.host_port, task.node_address, task.slot, task.container_id) == (32768, "10.0.0.12", 2, "c1")
    assert (task.service_name, task.labels, task.image) == (
        "app-v1",
        {"berth.version": "1"},
        "reg:5000/team/app:1@sha256:abc",
    )
    assert task.running and task.exit_code is None  # a running container's "ExitCode: 0" is no exit


def test_a_pending_task_has_no_node_port_or_container():
    raw = {"ID": "t2", "ServiceID": "s1", "Slot": 1, "DesiredState": "running",
           "Status": {"State": "pending", "Err": "no suitable node (insufficient resources on 3 nodes)"}}  # fmt: skip

    task = task_state(raw, None, "")

    assert (task.node_id, task.host_port, task.container_id, task.running) == ("", None, "", False)
    assert "insufficient resources" in task.error


def test_a_version_reads_its_replicas_and_image():
    raw = {
        "ID": "s1",
        "Spec": {
            "Name": "app-v1",
            "Labels": {"berth.version": "1"},
            "Mode": {"Replicated": {"Replicas": 4}},
            "TaskTemplate": {"ContainerSpec": {"Image": "busybox:1"}},
        },
    }

    assert (version_state(raw).replicas, version_state(raw).image) == (4, "busybox:1")
