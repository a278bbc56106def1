"""Volume mounts: one EAS mount type per entry (oss, nfs, git, image, empty_dir, ...) or Berth's host path."""

from typing import Annotated, Literal

from deployments.spec.model.base import SpecModel, bounded_int, opt, req, with_message
from deployments.spec.model.leaves import (
    AbsPath,
    Directory,
    GitRef,
    HttpsUrl,
    Image,
    JsonObject,
    MountPath,
    NfsPath,
    NfsText,
    ObjectStoreName,
    OssPath,
    Text,
)


class OssMount(SpecModel):
    path: OssPath = req("OSS path, oss://bucket/dir/.")
    readOnly: bool = opt("Mount read-only (default false).")
    endpoint: Text = opt("OSS endpoint.")


class NfsMount(SpecModel):
    server: NfsText = req("NFS/NAS server (mount-target domain).")
    path: NfsPath = req("Remote directory.")
    readOnly: bool = opt("Mount read-only (default false).")
    resourceGroup: Text = opt("Resource group of some NAS/CPFS types.")


class GitMount(SpecModel):
    repo: HttpsUrl = req("Repository URL, HTTPS only. Cloned read-only at instance start.")
    branch: GitRef = opt("Branch (default master).")
    commit: GitRef = opt("Commit to check out.")
    username: Text = opt("User name for a private repository.")
    password: Text = opt("Password or access token for a private repository. Secret.")


class ImageMount(SpecModel):
    image: Image = req("Image to copy the directory from (pulled with the service's credentials).")
    path: Directory = req("Directory inside that image.")


class EmptyDirMount(SpecModel):
    medium: Annotated[Literal["", "memory"], with_message('must be "memory" (RAM-backed) or "" (disk)')] = opt(
        'Storage medium: "memory" for RAM (with mount_path /dev/shm: shared memory) or "" for disk.'
    )
    size_limit: bounded_int(1) = opt("Size limit in GB.")


class StorageBerth(SpecModel):
    """Berth's extensions of one mount: a host path (instead of an EAS type), or the object store of an oss mount."""

    host_path: AbsPath = opt(
        "Bind-mount this directory of the Docker host (instead of an EAS mount type). Only under the roots an "
        "administrator allowed in BERTH_HOST_PATH_ROOTS; never the Docker socket."
    )
    readOnly: bool = opt("Mount the host path read-only (default false).")
    object_store: ObjectStoreName = opt(
        "For an oss mount: the workspace's object-store connection to use (default: berth.object_store, "
        "then the workspace's default connection)."
    )


class Storage(SpecModel):
    """One mount: mount_path plus exactly one of the mount types (or berth.host_path)."""

    mount_path: MountPath = req("Absolute path inside the containers.")
    oss: OssMount = opt("Mount an OSS bucket path.")
    nfs: NfsMount = opt("Mount an NFS/NAS directory.")
    git: GitMount = opt("Clone a git repository (HTTPS) at instance start, read-only.")
    image: ImageMount = opt("Copy a directory out of another image at start-up.")
    empty_dir: EmptyDirMount = opt('Scratch space; {"medium": "memory"} at /dev/shm is shared memory.')
    dataset: JsonObject = opt("Mount a PAI dataset: {id, version, read_only}.")
    code: JsonObject = opt("Mount a PAI code set: {id}.")
    properties: JsonObject = opt('Console hint, e.g. {"resource_type": "model"}. Kept, not interpreted.')
    berth: StorageBerth = opt("Berth's extensions: host_path (+ readOnly), or object_store for an oss mount.")


# The one list of EAS mount types (the service form and deployments.storage read it from here).
STORAGE_TYPES = ("oss", "nfs", "git", "image", "empty_dir", "dataset", "code")
# Berth's own kind of mount, written {"berth": {"host_path": ...}} instead of a type key.
HOST_PATH = "host_path"
