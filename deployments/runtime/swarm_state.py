"""Pure readers of the Engine API's Swarm objects (nodes, services, tasks) into the runtime's dataclasses.

No I/O and no `docker` import: runtime/swarm.py fetches, these functions read.
"""

from __future__ import annotations

from deployments.runtime import NodeInfo, TaskState, VersionState

_NANO = 1_000_000_000


def node_info(raw: dict) -> NodeInfo:
    """A NodeInfo from one entry of the nodes call."""
    spec = raw.get("Spec") or {}
    description = raw.get("Description") or {}
    resources = description.get("Resources") or {}
    status = raw.get("Status") or {}
    manager = raw.get("ManagerStatus") or {}
    address = status.get("Addr") or ""
    if address in ("", "0.0.0.0") and manager.get("Addr"):  # a manager may report 0.0.0.0; its raft address holds
        address = manager["Addr"].rsplit(":", 1)[0]
    return NodeInfo(
        id=raw["ID"],
        hostname=description.get("Hostname", ""),
        address=address,
        role=spec.get("Role", ""),
        state=status.get("State", "unknown"),
        availability=spec.get("Availability", ""),
        cpus=(resources.get("NanoCPUs") or 0) / _NANO,
        memory_bytes=resources.get("MemoryBytes") or 0,
        labels=spec.get("Labels") or {},
        leader=bool(manager.get("Leader")),
        engine_version=(description.get("Engine") or {}).get("EngineVersion", ""),
    )


def version_state(raw: dict) -> VersionState:
    """A VersionState from one service as listed or inspected."""
    spec = raw.get("Spec") or {}
    replicated = (spec.get("Mode") or {}).get("Replicated") or {}
    return VersionState(
        id=raw["ID"],
        name=spec.get("Name", ""),
        labels=spec.get("Labels") or {},
        replicas=int(replicated.get("Replicas") or 0),
        image=((spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}).get("Image", ""),
        created_at=raw.get("CreatedAt", ""),
        updated_at=raw.get("UpdatedAt", ""),
    )


def task_state(raw: dict, service: dict | None, node_address: str) -> TaskState:
    """A TaskState from one entry of the tasks call and its service (as listed)."""
    status = raw.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    ports = (status.get("PortStatus") or {}).get("Ports") or []
    host_port = next((p["PublishedPort"] for p in ports if p.get("PublishMode") == "host"), None)
    spec = (service or {}).get("Spec") or {}
    image = ((raw.get("Spec") or {}).get("ContainerSpec") or {}).get("Image", "")
    return TaskState(
        id=raw["ID"],
        service_id=raw.get("ServiceID", ""),
        service_name=spec.get("Name", ""),
        labels=spec.get("Labels") or {},
        slot=raw.get("Slot"),
        node_id=raw.get("NodeID", ""),
        node_address=node_address,
        host_port=host_port,
        desired_state=raw.get("DesiredState", ""),
        state=status.get("State", ""),
        message=status.get("Message", ""),
        error=status.get("Err", ""),
        container_id=container.get("ContainerID", ""),
        exit_code=container.get("ExitCode") if status.get("State") in ("failed", "complete", "shutdown") else None,
        created_at=raw.get("CreatedAt", ""),
        updated_at=status.get("Timestamp") or raw.get("UpdatedAt", ""),
        image=image,
    )
