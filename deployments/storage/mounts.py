"""Preparing an instance's mounts before its containers start, and removing its volumes after."""

from __future__ import annotations

import logging

from django.conf import settings

from deployments.models import Instance
from deployments.models.storage import InstanceMount
from deployments.runtime import LABEL_INSTALLATION, LABEL_INSTANCE, LABEL_SERVICE, RuntimeFailure
from deployments.spec import STORAGE_TYPES
from deployments.storage import git, s3
from deployments.storage.context import LABEL_INSTANCE_ID, REASON, MountContext
from deployments.storage.kinds import (
    mount_empty_dir,
    mount_git,
    mount_host_path,
    mount_image,
    mount_nfs,
    mount_oss,
    mount_shm,
)

log = logging.getLogger(__name__)


def kind_of(entry: dict) -> str:
    if "host_path" in (entry.get("berth") or {}):
        return "host_path"
    return next((k for k in STORAGE_TYPES if k in entry), "")


def prepare_mounts(*, runtime, host, service, version, config: dict, instance_name: str) -> list[dict]:
    """Docker mount dicts (target, source, type, read_only, ...) for one instance.

    Records an InstanceMount row per mount and events (progress and size for copies). Raises
    RuntimeFailure (reason MountFailed) naming the storage entry when one cannot be prepared.
    """

    storage = config.get("storage") or []
    memory_shm = (config.get("metadata") or {}).get("shm_size")
    if not storage and not memory_shm:
        return []
    instance = Instance.objects.filter(name=instance_name).only("pk").first()
    ctx = MountContext(runtime, host, service, config, instance_name, instance.pk if instance else 0)
    collect_orphan_volumes(runtime=runtime, service=service)
    handlers = {
        "oss": mount_oss,
        "nfs": mount_nfs,
        "git": mount_git,
        "image": mount_image,
        "empty_dir": mount_empty_dir,
        "host_path": mount_host_path,
    }
    mounts = []
    for position, entry in enumerate(storage):
        kind = kind_of(entry)
        if kind not in handlers:
            continue  # dataset / code: Alibaba Cloud only, reported as ignored by the spec
        where = f"storage[{position}] ({_describe(entry, kind)} at {entry['mount_path']})"
        try:
            mounts.append(handlers[kind](ctx, position, entry))
        except RuntimeFailure as exc:
            raise RuntimeFailure(f"{where}: {exc}", reason=exc.reason if exc.reason != "Error" else REASON) from exc
        except Exception as exc:  # never leave the instance Creating because of a surprise: say what failed
            log.exception("preparing %s of %s failed", where, instance_name)
            raise RuntimeFailure(f"{where}: {type(exc).__name__}: {exc}", reason=REASON) from exc
    if memory_shm and not any(m["target"].rstrip("/") == "/dev/shm" for m in mounts):
        mounts.append(mount_shm(ctx, len(storage), memory_shm))
    if instance is not None:
        InstanceMount.objects.bulk_create(InstanceMount(instance_id=instance.pk, **r) for r in ctx.records)
    return mounts


def _describe(entry: dict, kind: str) -> str:
    """A mount's source for people: never a credential."""
    body = entry.get(kind) or {}
    if kind == "oss":
        bucket, prefix = s3.parse_oss_path(body.get("path", "oss://"))
        return f"oss://{bucket}/{prefix}"
    if kind == "nfs":
        return f"nfs {body.get('server')}:{body.get('path')}"
    if kind == "git":
        return git.clean_url(body.get("repo", ""))[0]
    if kind == "image":
        return f"{body.get('image')}:{body.get('path')}"
    if kind == "empty_dir":
        return "empty_dir (memory)" if body.get("medium") == "memory" else "empty_dir"
    if kind == "host_path":
        return f"host path {entry['berth']['host_path']}"
    return kind


def collect_orphan_volumes(*, runtime, service) -> int:
    """Remove this service's volumes whose instance no longer exists (a volume still in use stays)."""

    live = {str(pk) for pk in Instance.objects.filter(service=service).values_list("pk", flat=True)}
    removed = 0
    volumes = runtime.volume_list({LABEL_INSTALLATION: settings.BERTH_INSTALLATION, LABEL_SERVICE: service.name})
    for volume in volumes:
        instance_id = volume.labels.get(LABEL_INSTANCE_ID)
        if instance_id and instance_id not in live and runtime.volume_remove(volume.name):
            removed += 1
    return removed


def instance_volumes_remove(*, runtime, instance_name: str) -> None:
    """Remove an instance's volumes once its containers are gone (the engine's instance_remove)."""
    for volume in runtime.volume_list({LABEL_INSTALLATION: settings.BERTH_INSTALLATION, LABEL_INSTANCE: instance_name}):
        runtime.volume_remove(volume.name)
