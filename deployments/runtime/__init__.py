"""The runtime interface: everything Berth asks of a container host.

Services, tasks and views speak only these types; `runtime/docker.py` is the one
implementation today (and the only module that imports `docker`). A Swarm backend
would implement the same `Runtime` protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterator, Protocol

LABEL_PREFIX = "berth."
LABEL_INSTALLATION = "berth.installation"
LABEL_SERVICE = "berth.service"
LABEL_VERSION = "berth.version"
LABEL_INSTANCE = "berth.instance"
LABEL_WORKSPACE = "berth.workspace"
LABEL_ROLE = "berth.role"  # "main" for the container that receives traffic, "sidecar" otherwise


class RuntimeFailure(Exception):
    """A host-side failure, phrased for a person: what failed and what to do."""

    def __init__(self, message: str, *, reason: str = "Error"):
        self.reason = reason
        super().__init__(message)


class ImageNotFound(RuntimeFailure):
    def __init__(self, message: str):
        super().__init__(message, reason="ImagePullBackOff")


class RegistryAuthFailed(RuntimeFailure):
    def __init__(self, message: str):
        super().__init__(message, reason="ImagePullBackOff")


class BuildFailed(RuntimeFailure):
    def __init__(self, message: str):
        super().__init__(message, reason="BuildFailed")


class HostUnreachable(RuntimeFailure):
    def __init__(self, message: str):
        super().__init__(message, reason="HostUnreachable")


@dataclass(frozen=True)
class RegistryAuth:
    username: str
    password: str

    def __repr__(self) -> str:  # never print the password, even in tracebacks
        return f"RegistryAuth(username={self.username!r}, password='****')"


@dataclass
class ContainerSpec:
    """One container of one instance, fully resolved: nothing here needs the DB."""

    name: str
    image: str
    labels: dict[str, str]
    env: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] | None = None
    command: list[str] | None = None
    port: int | None = None  # published on an ephemeral port of `bind_address`
    bind_address: str = "127.0.0.1"
    cpu: float | None = None
    memory_mb: int | None = None
    network_of: str | None = None  # share the network namespace of this container (multi-container instances)
    mounts: list[dict] = field(default_factory=list)
    shm_size_mb: int | None = None


@dataclass
class ContainerState:
    """A container as the host reports it."""

    id: str
    name: str
    labels: dict[str, str]
    status: str  # created | running | restarting | exited | dead | paused
    exit_code: int | None = None
    oom_killed: bool = False
    host_port: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    error: str = ""

    @property
    def running(self) -> bool:
        return self.status == "running"


@dataclass
class VolumeInfo:
    """A volume as the host reports it. `mountpoint` is a path on the Docker host."""

    name: str
    driver: str
    mountpoint: str
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)


@dataclass
class HostInfo:
    cpus: int
    memory_bytes: int
    server_version: str


class Runtime(Protocol):
    def info(self) -> HostInfo: ...

    def pull(self, image: str, auth: RegistryAuth | None, *, local_fallback: bool = True) -> str:
        """Make `image` present on the host; returns its id (digest). Raises ImageNotFound / RegistryAuthFailed.

        With `local_fallback`, an anonymous pull that fails returns a local image of that name (one built
        on the host and never pushed); without it the registry's answer stands (a private image's check).
        """

    def image_has(self, image: str) -> bool: ...

    def build(self, context_tar: bytes, tag: str, on_line: Callable[[str], None], *, offline: bool = False) -> str:
        """Build the image of an uncompressed tar context (a Dockerfile at its root) and tag it; returns its id.

        `offline` builds without any network (its RUN steps need none).

        `on_line` gets each line of the build's output as it comes. Raises BuildFailed whose message ends
        with the build's last lines."""

    def image_id(self, image: str) -> str: ...

    def start(self, spec: ContainerSpec) -> ContainerState:
        """Create and start a container; a stale one of the same name is removed first."""

    def stop(self, container: str, *, grace_seconds: int) -> None:
        """SIGTERM, then SIGKILL after the grace period. A missing container is success."""

    def restart(self, container: str, *, grace_seconds: int) -> ContainerState | None:
        """Restart (or start an exited) container in place; None when it no longer exists."""

    def remove(self, container: str) -> None:
        """Force-remove; a missing container is success."""

    def list(self, labels: dict[str, str]) -> list[ContainerState]:
        """Every container (running or not) carrying all of `labels`, in one call."""

    def inspect(self, container: str) -> ContainerState | None: ...

    def logs(self, container: str, *, tail: int | str = 100) -> str: ...

    def follow_logs(self, container: str, *, tail: int = 100) -> Iterator[str]: ...

    def exec(self, container: str, command: list[str], *, timeout: float) -> int:
        """Run a command inside the container; its exit code (non-zero on timeout)."""

    def stats(self, container: str) -> dict: ...

    def remove_volumes(self, labels: dict[str, str]) -> None: ...

    # --- volumes, for storage mounts (deployments/storage.py) ---

    def shares_filesystem(self) -> bool:
        """True when this process sees the host's files (a unix:// socket): volume mountpoints are local paths."""

    def volume_create(
        self, name: str, *, labels: dict[str, str], driver: str = "local", driver_opts: dict[str, str] | None = None
    ) -> VolumeInfo:
        """Create a volume, or return the existing one of that name as it is."""

    def volume_get(self, name: str) -> VolumeInfo | None: ...

    def volume_list(self, labels: dict[str, str]) -> list[VolumeInfo]:
        """Every volume carrying all of `labels` (a value of "" matches any value)."""

    def volume_remove(self, name: str) -> bool:
        """Remove a volume; a missing one is success. False when a container still uses it."""

    def volume_put_archive(self, volume: str, data, *, labels: dict[str, str], root: str | None = None) -> None:
        """Extract a tar stream (bytes or an iterable of bytes) at the volume's root, through a helper
        container that is created, never started, and removed: works on any host, local or remote.
        With `root`, the archive's entries start with that name, standing for the volume itself."""

    def volume_copy_from_image(
        self, image: str, path: str, volume: str, *, labels: dict[str, str], on_bytes=None
    ) -> int:
        """Copy the directory `path` of `image` (present on the host) to the volume's root; returns bytes copied."""

    def volume_check_mount(self, volume: str, *, labels: dict[str, str]) -> None:
        """Have the host mount the volume once (an NFS volume is only mounted when a container starts);
        raises RuntimeFailure with the host's reason when it cannot."""


# --- Swarm clusters (runtime/swarm.py) -------------------------------------------------------------


class NotSwarmManager(RuntimeFailure):
    def __init__(self, message: str):
        super().__init__(message, reason="NotSwarmManager")


@dataclass
class NodeInfo:
    """One node of a Swarm cluster as its manager reports it."""

    id: str
    hostname: str
    address: str  # where the node's host-mode ports are reached
    role: str  # manager | worker
    state: str  # ready | down | disconnected | unknown
    availability: str  # active | pause | drain
    cpus: float
    memory_bytes: int
    labels: dict[str, str] = field(default_factory=dict)
    leader: bool = False
    engine_version: str = ""


@dataclass
class VersionSpec:
    """One Swarm service for one Berth service version: the cluster counterpart of `ContainerSpec`."""

    name: str
    image: str  # pinned to a digest by the runtime when the registry answers
    labels: dict[str, str]  # on the Swarm service and on every task's container
    env: dict[str, str] = field(default_factory=dict)
    entrypoint: list[str] | None = None
    command: list[str] | None = None
    port: int | None = None  # published in host mode on a port each node picks
    cpu: float | None = None  # limit, in cores
    memory_mb: int | None = None  # limit
    cpu_reservation: float | None = None  # what the scheduler keeps free on a node for each task
    memory_reservation_mb: int | None = None
    auth: RegistryAuth | None = None
    restart_delay_seconds: float = 5.0
    stop_grace_seconds: int = 30
    constraints: list[str] = field(default_factory=list)  # e.g. ["node.labels.gpu==true"]


@dataclass
class VersionState:
    id: str
    name: str
    labels: dict[str, str]
    replicas: int
    image: str
    created_at: str = ""
    updated_at: str = ""


@dataclass
class TaskState:
    """One task (one instance) of a version's Swarm service."""

    id: str
    service_id: str
    service_name: str
    labels: dict[str, str]  # the service's labels
    slot: int | None
    node_id: str
    node_address: str
    host_port: int | None
    desired_state: str  # running | shutdown | ...
    state: str  # new | pending | assigned | preparing | starting | running | complete | failed | rejected | ...
    message: str = ""
    error: str = ""
    container_id: str = ""
    exit_code: int | None = None
    created_at: str = ""
    updated_at: str = ""
    image: str = ""

    @property
    def running(self) -> bool:
        return self.state == "running" and self.desired_state == "running"
