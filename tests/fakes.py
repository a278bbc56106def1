"""An in-memory `Runtime` for unit tests of the engine's rules (no Docker).

It implements the whole protocol of deployments/runtime/__init__.py with dictionaries, so the
convergence rules (create, rolling update, failed rollout, scale) can be driven step by step
with `engine.hosts.runtimes_from(...)`. The real-dockerd tests remain the proof that Berth
works; these pin the rules.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field

from deployments.runtime import (
    ContainerSpec,
    ContainerState,
    HostInfo,
    ImageNotFound,
    RegistryAuth,
    VolumeInfo,
)


@dataclass
class FakeContainer:
    spec: ContainerSpec
    state: ContainerState
    log: list[str] = field(default_factory=list)


class FakeRuntime:
    """One fake Docker engine. `missing_images` makes pulls of those references fail."""

    def __init__(self, *, cpus: int = 8, memory_bytes: int = 16 << 30, missing_images: set[str] | None = None):
        self.cpus, self.memory_bytes = cpus, memory_bytes
        self.missing_images = set(missing_images or ())
        self.images: dict[str, str] = {}
        self.containers: dict[str, FakeContainer] = {}
        self.volumes: dict[str, VolumeInfo] = {}
        self.started: list[str] = []  # container names, in start order
        self.stopped: list[str] = []
        self._ids = itertools.count(1)
        self._ports = itertools.count(40000)

    # --- host and images ---

    def info(self) -> HostInfo:
        return HostInfo(cpus=self.cpus, memory_bytes=self.memory_bytes, server_version="fake")

    def pull(self, image: str, auth: RegistryAuth | None, *, local_fallback: bool = True) -> str:
        if image in self.missing_images:
            raise ImageNotFound(f"image {image} was not found in registry fake: check the name and tag")
        return self.images.setdefault(image, f"sha256:{len(self.images) + 1:064x}")

    def image_has(self, image: str) -> bool:
        return image in self.images or image in self.images.values()

    def image_id(self, image: str) -> str:
        return self.images[image]

    # --- containers ---

    def start(self, spec: ContainerSpec) -> ContainerState:
        self.remove(spec.name)
        state = ContainerState(
            id=f"c{next(self._ids):011d}",
            name=spec.name,
            labels=dict(spec.labels),
            status="running",
            host_port=next(self._ports) if spec.port else None,
        )
        self.containers[state.id] = FakeContainer(spec=spec, state=state)
        self.started.append(spec.name)
        return state

    def _find(self, container: str) -> FakeContainer | None:
        if container in self.containers:
            return self.containers[container]
        return next((c for c in self.containers.values() if c.state.name == container), None)

    def stop(self, container: str, *, grace_seconds: int) -> None:
        found = self._find(container)
        if found is not None:
            found.state.status, found.state.exit_code = "exited", 0
            self.stopped.append(found.state.name)

    def restart(self, container: str, *, grace_seconds: int) -> ContainerState | None:
        found = self._find(container)
        if found is None:
            return None
        found.state.status, found.state.exit_code = "running", None
        return found.state

    def remove(self, container: str) -> None:
        found = self._find(container)
        if found is not None:
            del self.containers[found.state.id]

    def list(self, labels: dict[str, str]) -> list[ContainerState]:
        return [
            c.state for c in self.containers.values() if all(c.state.labels.get(k) == v for k, v in labels.items())
        ]

    def inspect(self, container: str) -> ContainerState | None:
        found = self._find(container)
        return found.state if found else None

    def logs(self, container: str, *, tail: int | str = 100, timestamps: bool = False, since: int | None = None) -> str:
        found = self._find(container)
        return "\n".join(found.log) if found else ""

    def follow_logs(self, container: str, *, tail: int = 100):
        yield from self.logs(container, tail=tail).splitlines()

    def exec(self, container: str, command: list[str], *, timeout: float) -> int:
        found = self._find(container)
        return 0 if found and found.state.running else 1

    def stats(self, container: str) -> dict:
        return {}

    def crash(self, name: str, *, exit_code: int = 1, oom: bool = False) -> None:
        """Make a container exit as if its process died (for crash-loop rules)."""
        found = self._find(name)
        found.state.status, found.state.exit_code, found.state.oom_killed = "exited", exit_code, oom

    # --- volumes ---

    def remove_volumes(self, labels: dict[str, str]) -> None:
        for volume in self.volume_list(labels):
            self.volume_remove(volume.name)

    def shares_filesystem(self) -> bool:
        return False

    def volume_create(self, name, *, labels, driver="local", driver_opts=None) -> VolumeInfo:
        return self.volumes.setdefault(
            name, VolumeInfo(name=name, driver=driver, mountpoint="", labels=dict(labels), options=driver_opts or {})
        )

    def volume_get(self, name: str) -> VolumeInfo | None:
        return self.volumes.get(name)

    def volume_list(self, labels: dict[str, str]) -> list[VolumeInfo]:
        return [
            v for v in self.volumes.values() if all(v.labels.get(k) == val or val == "" for k, val in labels.items())
        ]

    def volume_remove(self, name: str) -> bool:
        self.volumes.pop(name, None)
        return True

    def volume_put_archive(self, volume, data, *, labels, root=None) -> None:
        self.volume_create(volume, labels=labels)

    def volume_copy_from_image(self, image, path, volume, *, labels, on_bytes=None) -> int:
        self.volume_create(volume, labels=labels)
        return 0

    def volume_check_mount(self, volume, *, labels) -> None:
        return None
