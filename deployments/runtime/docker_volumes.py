"""Volumes on a Docker host (storage mounts): create, list, remove, fill through the archive API.

A mixin of DockerRuntime (runtime/docker.py): it uses the runtime's `client` and `_call`. Works on
local and remote engines alike: files go in through helper containers that are created, never
started, and removed.
"""

from __future__ import annotations

import base64
import io
import json
import posixpath
import tarfile
from typing import Iterable, Iterator

from docker import errors as docker_errors
from docker.types import Mount

from deployments.runtime import RuntimeFailure, VolumeInfo

# An image with an empty filesystem, imported on each host on first use: helper containers that only
# carry a volume for the archive API are created from it and never started, so nothing is ever pulled.
HELPER_IMAGE = "berth-helper:empty"
_HELPER_ROOT = "/berth-volume"
# Go's os.FileMode bits in the stat header of the archive API.
_MODE_DIR = 1 << 31


class DockerVolumes:
    def remove_volumes(self, labels: dict[str, str]) -> None:
        filters = {"label": [f"{k}={v}" for k, v in labels.items()]}
        for volume in self._call("list volumes", self.client.volumes.list, filters=filters):
            try:
                volume.remove(force=True)
            except docker_errors.NotFound:
                pass

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
                "create a volume",
                self.client.volumes.create,
                name=name,
                driver=driver,
                driver_opts=driver_opts or {},
                labels=labels,
            )
        except docker_errors.APIError as exc:
            raise RuntimeFailure(
                f"creating volume {name} failed: {exc.explanation or exc}", reason="MountFailed"
            ) from exc
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
                    "import the helper image",
                    self.client.api.import_image_from_data,
                    empty.getvalue(),
                    repository=repository,
                    tag=tag,
                    changes=["LABEL berth.helper=true"],
                )
            except docker_errors.APIError as exc:
                raise RuntimeFailure(
                    f"importing {HELPER_IMAGE} failed: {exc.explanation or exc}", reason="MountFailed"
                ) from exc
        return HELPER_IMAGE

    def _create_helper(self, name: str, image: str, mounts: list[Mount], labels: dict[str, str]) -> str:
        """A container that is created but not started (unless asked): a handle for the archive API."""
        self.remove(name)
        api = self.client.api
        try:
            created = self._call(
                "create a helper container",
                api.create_container,
                image,
                name=name,
                labels=labels,
                entrypoint=["/berth-helper-never-runs"],
                host_config=api.create_host_config(mounts=mounts),
                network_disabled=True,
            )
        except docker_errors.APIError as exc:
            raise RuntimeFailure(
                f"creating helper container {name} failed: {exc.explanation or exc}", reason="MountFailed"
            ) from exc
        return created["Id"]

    def volume_put_archive(self, volume: str, data, *, labels: dict[str, str], root: str | None = None) -> None:
        name = f"{volume}-put"
        # With `root`, the archive's entries start with that name, which stands for the volume itself
        # (so an entry "root/" can set the volume root's mode; the archive API ignores an entry ".").
        target = f"{_HELPER_ROOT}/{root}" if root else _HELPER_ROOT
        helper = self._create_helper(
            name, self.helper_image(), [Mount(target=target, source=volume, type="volume")], labels
        )
        try:
            self._call("copy files into a volume", self.client.api.put_archive, helper, _HELPER_ROOT, data)
        except docker_errors.APIError as exc:
            raise RuntimeFailure(
                f"writing into volume {volume} failed: {exc.explanation or exc}", reason="MountFailed"
            ) from exc
        finally:
            self.remove(helper)

    def volume_copy_from_image(
        self, image: str, path: str, volume: str, *, labels: dict[str, str], on_bytes=None
    ) -> int:
        path = posixpath.normpath(path)
        if path == "/":
            raise RuntimeFailure(
                f"copying / of {image} is not supported: name a directory, e.g. /opt/data", reason="MountFailed"
            )
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
                    f"{path} in image {image} is not a directory: an image mount copies a directory",
                    reason="MountFailed",
                )
            # The archive's entries start with the directory's name: mount the volume under that name.
            root = stat.get("name") or posixpath.basename(path)
            target = self._create_helper(
                f"{volume}-dst",
                self.helper_image(),
                [Mount(target=f"{_HELPER_ROOT}/{root}", source=volume, type="volume")],
                labels,
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
                    f"copying {path} of {image} into volume {volume} failed: {exc.explanation or exc}",
                    reason="MountFailed",
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
            "look at a path in an image",
            api.head,
            api._url("/containers/{0}/archive", container),
            params={"path": path},
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
