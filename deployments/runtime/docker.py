"""The Docker Engine implementation of the runtime interface: the only module that imports `docker`.

Every docker.errors.* becomes a RuntimeFailure with a sentence a person can act on.
"""

from __future__ import annotations

import threading
import time
from typing import Iterator

import docker
from docker import errors as docker_errors
from docker.types import Mount

from deployments.runtime import (
    LABEL_PREFIX,
    ContainerSpec,
    ContainerState,
    HostInfo,
    HostUnreachable,
    ImageNotFound,
    RegistryAuth,
    RegistryAuthFailed,
    RuntimeFailure,
)
from deployments.runtime.docker_volumes import DockerVolumes

_clients: dict[str, docker.DockerClient] = {}
_clients_lock = threading.Lock()


def registry_of(image: str) -> str:
    """The registry host of an image reference (Docker Hub when the first part is no host)."""
    first = image.split("/", 1)[0]
    if "/" in image and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


def _client(url: str, tls: dict | None = None) -> docker.DockerClient:
    key = url
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            tls_config = None
            if tls:
                tls_config = docker.tls.TLSConfig(
                    client_cert=(tls["cert_path"], tls["key_path"]),
                    ca_cert=tls.get("ca_path"),
                    verify=bool(tls.get("ca_path")),
                )
            client = docker.DockerClient(base_url=url, tls=tls_config, timeout=60)
            _clients[key] = client
        return client


def _ip(settings: dict | None) -> str | None:
    """The container's address on its (single) network; None when it has none of its own."""
    for network in ((settings or {}).get("Networks") or {}).values():
        if (network or {}).get("IPAddress"):
            return network["IPAddress"]
    return None


def _state(container) -> ContainerState:
    attrs = container.attrs
    state = attrs.get("State", {})
    host_port = None
    ports = (attrs.get("NetworkSettings") or {}).get("Ports") or {}
    for bindings in ports.values():
        if bindings:
            host_port = int(bindings[0]["HostPort"])
            break
    return ContainerState(
        id=container.id,
        name=container.name,
        labels=(attrs.get("Config") or {}).get("Labels") or {},
        status=state.get("Status", "unknown"),
        exit_code=state.get("ExitCode"),
        oom_killed=bool(state.get("OOMKilled")),
        host_port=host_port,
        ip=_ip(attrs.get("NetworkSettings")),
        started_at=state.get("StartedAt"),
        finished_at=state.get("FinishedAt"),
        error=state.get("Error", ""),
    )


def _summary_state(raw: dict) -> ContainerState:
    """A ContainerState from one entry of the list call (no per-container inspect)."""
    host_port = next((p.get("PublicPort") for p in raw.get("Ports") or [] if p.get("PublicPort")), None)
    return ContainerState(
        id=raw["Id"],
        name=(raw.get("Names") or ["/?"])[0].lstrip("/"),
        labels=raw.get("Labels") or {},
        status=raw.get("State", "unknown"),
        host_port=host_port,
        ip=_ip(raw.get("NetworkSettings")),
    )


class DockerRuntime(DockerVolumes):
    """One Docker host, reached at `url` (unix:// or tcp:// with optional TLS material on disk)."""

    def __init__(self, url: str, *, tls: dict | None = None):
        self.url = url
        self.tls = tls

    @property
    def client(self) -> docker.DockerClient:
        try:
            return _client(self.url, self.tls)
        except docker_errors.DockerException as exc:  # the constructor asks the engine for its API version
            raise HostUnreachable(f"cannot reach the Docker host at {self.url}: {exc}") from exc

    def _call(self, what: str, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except docker_errors.DockerException as exc:
            if isinstance(exc, (docker_errors.NotFound, docker_errors.APIError)):
                raise
            raise HostUnreachable(f"cannot reach the Docker host at {self.url} while trying to {what}: {exc}") from exc
        except OSError as exc:
            raise HostUnreachable(f"cannot reach the Docker host at {self.url} while trying to {what}: {exc}") from exc

    def info(self) -> HostInfo:
        info = self._call("read its capacity", self.client.info)
        return HostInfo(
            cpus=int(info["NCPU"]), memory_bytes=int(info["MemTotal"]), server_version=info["ServerVersion"]
        )

    def image_has(self, image: str) -> bool:
        try:
            self._call("look up an image", self.client.images.get, image)
            return True
        except docker_errors.ImageNotFound:
            return False

    def image_id(self, image: str) -> str:
        return self._call("look up an image", self.client.images.get, image).id

    def pull(self, image: str, auth: RegistryAuth | None, *, local_fallback: bool = True) -> str:
        registry = registry_of(image)
        repository, tag = image, None
        if "@" not in image:
            last = image.rsplit("/", 1)[-1]
            if ":" in last:
                repository, tag = image.rsplit(":", 1)
            else:
                tag = "latest"
        credentials = {"username": auth.username, "password": auth.password} if auth else None
        try:
            pulled = self._call("pull an image", self.client.images.pull, repository, tag=tag, auth_config=credentials)
            return pulled.id
        except docker_errors.APIError as exc:
            text = str(exc.explanation or exc).lower()
            # A local image that was never pushed anywhere is still usable (tests and air-gapped hosts).
            if not auth and local_fallback and self.image_has(image):
                return self.client.images.get(image).id
            if (
                "unauthorized" in text
                or "authentication required" in text
                or "denied" in text
                or "no basic auth" in text
            ):
                # The SDK reports a refused login as a 500; say what happened.
                raise RegistryAuthFailed(
                    f"registry {registry} refused the credentials for {image}: check dockerAuth or the saved registry credential"
                ) from exc
            if "not found" in text or "manifest unknown" in text or "does not exist" in text or exc.status_code == 404:
                raise ImageNotFound(
                    f"image {image} was not found in registry {registry}: check the name and tag"
                ) from exc
            raise RuntimeFailure(
                f"pulling {image} from {registry} failed: {exc.explanation or exc}", reason="ImagePullBackOff"
            ) from exc

    def start(self, spec: ContainerSpec) -> ContainerState:
        self.remove(spec.name)
        kwargs: dict = {
            "name": spec.name,
            "labels": spec.labels,
            "environment": spec.env,
            "detach": True,
            "mounts": [Mount(**m) for m in spec.mounts],
        }
        if spec.entrypoint is not None:
            kwargs["entrypoint"] = spec.entrypoint
        if spec.command is not None:
            kwargs["command"] = spec.command
        if spec.network_of:
            kwargs["network_mode"] = f"container:{spec.network_of}"
        else:
            if spec.network:
                kwargs["network"] = spec.network
            if spec.port and spec.publish:
                kwargs["ports"] = {f"{spec.port}/tcp": (spec.bind_address, None)}
        if spec.cpu:
            kwargs["nano_cpus"] = int(spec.cpu * 1e9)
        if spec.memory_mb:
            kwargs["mem_limit"] = f"{spec.memory_mb}m"
        if spec.shm_size_mb:
            kwargs["shm_size"] = f"{spec.shm_size_mb}m"
        try:
            container = self._call("create a container", self.client.containers.run, spec.image, **kwargs)
        except docker_errors.ImageNotFound as exc:
            raise ImageNotFound(f"image {spec.image} is not on the host; it must be pulled first") from exc
        except docker_errors.APIError as exc:
            text = str(exc.explanation or exc)
            if "port is already allocated" in text or "address already in use" in text:
                raise RuntimeFailure(
                    f"the host port for {spec.name} is already taken: {text}", reason="PortConflict"
                ) from exc
            if "memory" in text.lower() and "minimum" in text.lower():
                raise RuntimeFailure(
                    f"the memory limit is too small for Docker: {text}", reason="InvalidResources"
                ) from exc
            raise RuntimeFailure(f"starting {spec.name} failed: {text}", reason="ContainerCreateFailed") from exc
        container.reload()
        return _state(container)

    def stop(self, container: str, *, grace_seconds: int) -> None:
        try:
            found = self._call("stop a container", self.client.containers.get, container)
            found.stop(timeout=grace_seconds)
        except docker_errors.NotFound:
            return
        except docker_errors.APIError as exc:
            if exc.status_code == 404:
                return
            raise RuntimeFailure(f"stopping {container} failed: {exc.explanation or exc}") from exc

    def restart(self, container: str, *, grace_seconds: int) -> ContainerState | None:
        try:
            found = self._call("restart a container", self.client.containers.get, container)
            found.restart(timeout=grace_seconds)
            found.reload()
            return _state(found)
        except docker_errors.NotFound:
            return None
        except docker_errors.APIError as exc:
            raise RuntimeFailure(f"restarting {container} failed: {exc.explanation or exc}") from exc

    def remove(self, container: str) -> None:
        try:
            found = self._call("remove a container", self.client.containers.get, container)
            found.remove(force=True, v=True)
        except docker_errors.NotFound:
            return
        except docker_errors.APIError as exc:
            if exc.status_code in (404, 409):  # gone, or removal already in progress
                return
            raise RuntimeFailure(f"removing {container} failed: {exc.explanation or exc}") from exc

    def list(self, labels: dict[str, str]) -> list[ContainerState]:
        filters = [f"{k}={v}" if v else k for k, v in labels.items()] or [f"{LABEL_PREFIX}service"]
        raw = self._call("list containers", self.client.api.containers, all=True, filters={"label": filters})
        return [_summary_state(entry) for entry in raw]

    def inspect(self, container: str) -> ContainerState | None:
        try:
            return _state(self._call("inspect a container", self.client.containers.get, container))
        except docker_errors.NotFound:
            return None

    def logs(self, container: str, *, tail: int | str = 100) -> str:
        try:
            found = self._call("read logs", self.client.containers.get, container)
            return found.logs(tail=tail, timestamps=False).decode(errors="replace")
        except docker_errors.NotFound:
            return ""

    def follow_logs(self, container: str, *, tail: int = 100) -> Iterator[str]:
        try:
            found = self._call("follow logs", self.client.containers.get, container)
        except docker_errors.NotFound:
            return iter(())
        return (chunk.decode(errors="replace") for chunk in found.logs(stream=True, follow=True, tail=tail))

    def exec(self, container: str, command: list[str], *, timeout: float) -> int:
        api = self.client.api
        try:
            exec_id = api.exec_create(container, command)["Id"]
            api.exec_start(exec_id, detach=True)
        except docker_errors.APIError:
            return 126
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = api.exec_inspect(exec_id)
            if not result.get("Running"):
                return int(result.get("ExitCode") or 0)
            time.sleep(0.05)
        return 124  # like timeout(1)

    def stats(self, container: str) -> dict:
        try:
            return self._call("read stats", self.client.api.stats, container, stream=False)
        except docker_errors.NotFound:
            return {}

    # --- networks, one per workspace ---------------------------------------------------------------

    def _network_find(self, name: str):
        # The name filter matches substrings: keep the exact match only.
        found = self._call("list networks", self.client.networks.list, names=[name])
        return next((n for n in found if n.name == name), None)

    def network_ensure(self, name: str, *, labels: dict[str, str]) -> str:
        existing = self._network_find(name)
        if existing is not None:
            return existing.id
        try:
            created = self._call(
                "create a network",
                self.client.networks.create,
                name,
                driver="bridge",
                labels=labels,
                check_duplicate=True,
            )
            return created.id
        except docker_errors.APIError as exc:
            # Another worker created it between the lookup and the create: use theirs.
            existing = self._network_find(name)
            if existing is not None:
                return existing.id
            text = str(exc.explanation or exc)
            if "address pools" in text or "non-overlapping" in text:
                raise RuntimeFailure(
                    f"creating network {name} failed: the Docker host has no free subnet left; "
                    f"set default-address-pools in its daemon.json ({text})",
                    reason="NetworkCreateFailed",
                ) from exc
            raise RuntimeFailure(f"creating network {name} failed: {text}", reason="NetworkCreateFailed") from exc

    def network_remove(self, name: str) -> bool:
        existing = self._network_find(name)
        if existing is None:
            return True
        try:
            self._call("remove a network", existing.remove)
        except docker_errors.NotFound:
            return True
        except docker_errors.APIError as exc:
            if exc.status_code in (403, 409):  # containers still attached
                return False
            raise RuntimeFailure(f"removing network {name} failed: {exc.explanation or exc}") from exc
        return True

    # --- volumes, for storage mounts ------------------------------------------------------------
