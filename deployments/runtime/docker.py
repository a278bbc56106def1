"""The Docker Engine implementation of the runtime interface: the only module that imports `docker`.

Every docker.errors.* becomes a RuntimeFailure with a sentence a person can act on.
"""

from __future__ import annotations

import base64
import io
import json
import posixpath
import tarfile
import threading
import time
from typing import Iterable, Iterator

import docker
from docker import errors as docker_errors
from docker.types import Mount

from deployments.runtime import (
    LABEL_PREFIX,
    BuildFailed,
    ContainerSpec,
    ContainerState,
    HostInfo,
    HostUnreachable,
    ImageNotFound,
    RegistryAuth,
    RegistryAuthFailed,
    RuntimeFailure,
    VolumeInfo,
)

# An image with an empty filesystem, imported on each host on first use: helper containers that only
# carry a volume for the archive API are created from it and never started, so nothing is ever pulled.
HELPER_IMAGE = "berth-helper:empty"
_HELPER_ROOT = "/berth-volume"
# Go's os.FileMode bits in the stat header of the archive API.
_MODE_DIR = 1 << 31

# A build's own time limit (pip installs can be slow), and how many of its last lines a failure quotes.
BUILD_TIMEOUT = 1800
BUILD_LAST_LINES = 8

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
                    client_cert=(tls["cert_path"], tls["key_path"]), ca_cert=tls.get("ca_path"), verify=bool(tls.get("ca_path"))
                )
            client = docker.DockerClient(base_url=url, tls=tls_config, timeout=60)
            _clients[key] = client
        return client


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
    )


class DockerRuntime:
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
        return HostInfo(cpus=int(info["NCPU"]), memory_bytes=int(info["MemTotal"]), server_version=info["ServerVersion"])

    def image_has(self, image: str) -> bool:
        try:
            self._call("look up an image", self.client.images.get, image)
            return True
        except docker_errors.ImageNotFound:
            return False

    def image_id(self, image: str) -> str:
        return self._call("look up an image", self.client.images.get, image).id

    def build(self, context_tar: bytes, tag: str, on_line, *, offline: bool = False) -> str:
        # The legacy builder's JSON stream: {"stream": text}, {"aux": {"ID": id}}, {"error": message}.
        last: list[str] = []
        image_id = None
        pending = ""
        try:
            chunks = self._call(
                "build an image", self.client.api.build, fileobj=io.BytesIO(context_tar), custom_context=True,
                tag=tag, rm=True, forcerm=True, decode=True, timeout=BUILD_TIMEOUT,
                network_mode="none" if offline else None,
            )
            for chunk in chunks:
                if "error" in chunk:
                    lines = [line for line in (pending + "\n" + str(chunk["error"])).splitlines() if line.strip()]
                    raise BuildFailed(" | ".join([*last, *lines][-BUILD_LAST_LINES:]))
                if "aux" in chunk and isinstance(chunk["aux"], dict) and chunk["aux"].get("ID"):
                    image_id = chunk["aux"]["ID"]
                pending += chunk.get("stream") or ""
                *lines, pending = pending.split("\n")
                for line in lines:
                    if line.strip():
                        last = [*last, line.rstrip()][-BUILD_LAST_LINES:]
                        on_line(line.rstrip())
        except docker_errors.APIError as exc:
            raise BuildFailed(f"the Docker engine refused the build: {exc.explanation or exc}") from exc
        if pending.strip():
            on_line(pending.rstrip())
        return image_id or self.image_id(tag)

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
            if "unauthorized" in text or "authentication required" in text or "denied" in text or "no basic auth" in text:
                # The SDK reports a refused login as a 500; say what happened.
                raise RegistryAuthFailed(
                    f"registry {registry} refused the credentials for {image}: check dockerAuth or the saved registry credential"
                ) from exc
            if "not found" in text or "manifest unknown" in text or "does not exist" in text or exc.status_code == 404:
                raise ImageNotFound(f"image {image} was not found in registry {registry}: check the name and tag") from exc
            raise RuntimeFailure(f"pulling {image} from {registry} failed: {exc.explanation or exc}", reason="ImagePullBackOff") from exc

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
        elif spec.port:
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
                raise RuntimeFailure(f"the host port for {spec.name} is already taken: {text}", reason="PortConflict") from exc
            if "memory" in text.lower() and "minimum" in text.lower():
                raise RuntimeFailure(f"the memory limit is too small for Docker: {text}", reason="InvalidResources") from exc
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

    def remove_volumes(self, labels: dict[str, str]) -> None:
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        for volume in self._call("list volumes", self.client.volumes.list, filters=filters):
            try:
                volume.remove(force=True)
            except docker_errors.NotFound:
                pass

    # --- volumes, for storage mounts ------------------------------------------------------------

    def shares_filesystem(self) -> bool:
        return self.url.startswith("unix://")

    def _volume_info(self, volume) -> VolumeInfo:
        attrs = volume.attrs
        return VolumeInfo(
            name=attrs["Name"],
            driver=attrs.get("Driver") or "local",
            mountpoint=attrs.get("Mountpoint") or "",
            labels=attrs.get("Labels") or {},
            options=attrs.get("Options") or {},
        )

    def volume_get(self, name: str) -> VolumeInfo | None:
        try:
            return self._volume_info(self._call("inspect a volume", self.client.volumes.get, name))
        except docker_errors.NotFound:
            return None

    def volume_create(
        self, name: str, *, labels: dict[str, str], driver: str = "local", driver_opts: dict[str, str] | None = None
    ) -> VolumeInfo:
        existing = self.volume_get(name)
        if existing is not None:
            return existing
        try:
            volume = self._call(
                "create a volume", self.client.volumes.create, name=name, driver=driver,
                driver_opts=driver_opts or {}, labels=labels,
            )
        except docker_errors.APIError as exc:
            raise RuntimeFailure(f"creating volume {name} failed: {exc.explanation or exc}", reason="MountFailed") from exc
        return self._volume_info(volume)

    def volume_list(self, labels: dict[str, str]) -> list[VolumeInfo]:
        filters = {"label": [f"{k}={v}" if v else k for k, v in labels.items()]}
        return [self._volume_info(v) for v in self._call("list volumes", self.client.volumes.list, filters=filters)]

    def volume_remove(self, name: str) -> bool:
        try:
            self._call("remove a volume", self.client.api.remove_volume, name)
        except docker_errors.NotFound:
            return True
        except docker_errors.APIError as exc:
            if exc.status_code == 409:  # in use by a container
                return False
            raise RuntimeFailure(f"removing volume {name} failed: {exc.explanation or exc}") from exc
        return True

    def helper_image(self) -> str:
        """The empty helper image, imported from an empty tar the first time a host needs it."""
        if not self.image_has(HELPER_IMAGE):
            empty = io.BytesIO()
            tarfile.open(fileobj=empty, mode="w").close()
            repository, tag = HELPER_IMAGE.split(":")
            try:
                self._call(
                    "import the helper image", self.client.api.import_image_from_data, empty.getvalue(),
                    repository=repository, tag=tag, changes=["LABEL berth.helper=true"],
                )
            except docker_errors.APIError as exc:
                raise RuntimeFailure(f"importing {HELPER_IMAGE} failed: {exc.explanation or exc}", reason="MountFailed") from exc
        return HELPER_IMAGE

    def _create_helper(self, name: str, image: str, mounts: list[Mount], labels: dict[str, str]) -> str:
        """A container that is created but not started (unless asked): a handle for the archive API."""
        self.remove(name)
        api = self.client.api
        try:
            created = self._call(
                "create a helper container", api.create_container, image, name=name, labels=labels,
                entrypoint=["/berth-helper-never-runs"], host_config=api.create_host_config(mounts=mounts),
                network_disabled=True,
            )
        except docker_errors.APIError as exc:
            raise RuntimeFailure(f"creating helper container {name} failed: {exc.explanation or exc}", reason="MountFailed") from exc
        return created["Id"]

    def volume_put_archive(self, volume: str, data, *, labels: dict[str, str], root: str | None = None) -> None:
        name = f"{volume}-put"
        # With `root`, the archive's entries start with that name, which stands for the volume itself
        # (so an entry "root/" can set the volume root's mode; the archive API ignores an entry ".").
        target = f"{_HELPER_ROOT}/{root}" if root else _HELPER_ROOT
        helper = self._create_helper(name, self.helper_image(), [Mount(target=target, source=volume, type="volume")], labels)
        try:
            self._call("copy files into a volume", self.client.api.put_archive, helper, _HELPER_ROOT, data)
        except docker_errors.APIError as exc:
            raise RuntimeFailure(f"writing into volume {volume} failed: {exc.explanation or exc}", reason="MountFailed") from exc
        finally:
            self.remove(helper)

    def volume_copy_from_image(
        self, image: str, path: str, volume: str, *, labels: dict[str, str], on_bytes=None
    ) -> int:
        path = posixpath.normpath(path)
        if path == "/":
            raise RuntimeFailure(f"copying / of {image} is not supported: name a directory, e.g. /opt/data", reason="MountFailed")
        api = self.client.api
        source = self._create_helper(f"{volume}-src", image, [], labels)
        target = None
        copied = 0
        try:
            stat: dict | None = None
            for _ in range(8):  # follow a symlink (to a symlink...) to the directory
                stat = self._archive_stat(source, path)
                if stat is None:
                    raise RuntimeFailure(f"{path} does not exist in image {image}", reason="MountFailed")
                if not stat.get("linkTarget") or stat.get("mode", 0) & _MODE_DIR:
                    break
                path = posixpath.normpath(posixpath.join(posixpath.dirname(path), stat["linkTarget"]))
            if not stat.get("mode", 0) & _MODE_DIR:
                raise RuntimeFailure(
                    f"{path} in image {image} is not a directory: an image mount copies a directory", reason="MountFailed"
                )
            # The archive's entries start with the directory's name: mount the volume under that name.
            root = stat.get("name") or posixpath.basename(path)
            target = self._create_helper(
                f"{volume}-dst", self.helper_image(),
                [Mount(target=f"{_HELPER_ROOT}/{root}", source=volume, type="volume")], labels,
            )
            stream, _ = self._call("read a directory of an image", api.get_archive, source, path)

            def counted(chunks: Iterable[bytes]) -> Iterator[bytes]:
                nonlocal copied
                for chunk in chunks:
                    copied += len(chunk)
                    if on_bytes:
                        on_bytes(len(chunk))
                    yield chunk

            try:
                self._call("copy a directory into a volume", api.put_archive, target, _HELPER_ROOT, counted(stream))
            except docker_errors.APIError as exc:
                raise RuntimeFailure(
                    f"copying {path} of {image} into volume {volume} failed: {exc.explanation or exc}", reason="MountFailed"
                ) from exc
        finally:
            self.remove(source)
            if target:
                self.remove(target)
        return copied

    def _archive_stat(self, container: str, path: str) -> dict | None:
        """The archive API's stat of a path in a container (HEAD: no content), None when it does not exist."""

        api = self.client.api
        response = self._call(
            "look at a path in an image", api.head, api._url("/containers/{0}/archive", container), params={"path": path}
        )
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise RuntimeFailure(f"reading {path} failed: HTTP {response.status_code}", reason="MountFailed")
        header = response.headers.get("X-Docker-Container-Path-Stat")
        return json.loads(base64.b64decode(header)) if header else {}

    def volume_check_mount(self, volume: str, *, labels: dict[str, str]) -> None:
        name = f"{volume}-check"
        helper = self._create_helper(
            name, self.helper_image(), [Mount(target=_HELPER_ROOT, source=volume, type="volume")], labels
        )
        try:
            self._call("mount a volume", self.client.api.start, helper)
        except docker_errors.APIError as exc:
            text = str(exc.explanation or exc)
            # Starting mounts the volumes first; the helper image then has nothing to run, which is the
            # expected failure: only an error about the mount itself means the volume is unusable.
            if "mount" in text.lower() and "berth-helper-never-runs" not in text:
                raise RuntimeFailure(text, reason="MountFailed") from exc
        finally:
            self.remove(helper)
