"""One function per mount kind: prepare the volume (or bind) for one storage entry of one instance."""

from __future__ import annotations

import io
import os
import tarfile
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings

from deployments import selectors
from deployments.registries import pinned_tag, registry_auth_for
from deployments.runtime import LABEL_INSTALLATION, RuntimeFailure
from deployments.storage import git as git_repo
from deployments.storage import s3
from deployments.storage.checks import _no_store, host_path_refusal
from deployments.storage.context import (
    LABEL_CACHE,
    LABEL_KEEP,
    REASON,
    MountContext,
    Ticker,
    ca_bundle,
    human_size,
    volume_mount,
)


def mount_oss(ctx: MountContext, position: int, entry: dict) -> dict:
    # botocore is imported where it is used: it is slow to import and only storage work needs it.
    from botocore.exceptions import BotoCoreError, ClientError

    oss = entry["oss"]
    read_only = bool(oss.get("readOnly"))
    bucket, prefix = s3.parse_oss_path(oss["path"])
    source = f"oss://{bucket}/{prefix}"
    store = selectors.object_store_for_mount(workspace=ctx.service.workspace, config=ctx.config, entry=entry)
    if store is None:
        named = (entry.get("berth") or {}).get("object_store") or (ctx.config.get("berth") or {}).get("object_store")
        raise RuntimeFailure(
            _no_store(named, ctx.service.workspace)
            if named
            else (
                f"workspace {ctx.service.workspace.name!r} has no default object-store connection: add one on the "
                "workspace page, or name one in berth.object_store"
            ),
            reason=REASON,
        )
    endpoint = s3.endpoint_for(store.endpoint_url, oss.get("endpoint"))
    threads = settings.BERTH_STORAGE_DOWNLOAD_THREADS
    started = time.monotonic()
    try:
        client = s3.client_for(
            endpoint=endpoint,
            region=store.region,
            addressing_style=store.addressing_style,
            access_key_id=store.access_key_id,
            secret_access_key=store.secret_access_key,
            ca_bundle=ca_bundle(),
            pool=threads,
        )
        objects, skipped = s3.list_prefix(client, bucket, prefix)
    except (BotoCoreError, ClientError) as exc:
        raise s3.failure(exc, store=store.name, endpoint=endpoint, bucket=bucket, prefix=prefix) from exc
    total = sum(o.size for o in objects)
    files = sum(1 for o in objects if not o.rel.endswith("/"))
    label = f"storage[{position}] {source} → {entry['mount_path']}"
    if skipped:
        ctx.event(
            "MountSkipped",
            f"{label}: skipped {len(skipped)} keys that cannot be file names, e.g. {skipped[0]!r}",
            warning=True,
        )
    if not files:
        ctx.event("MountEmpty", f"{label}: no objects under {source} at {endpoint}; the mount is empty", warning=True)
    ctx.event(
        "PreparingMount", f"{label}: {files} objects, {human_size(total)} from {endpoint} (connection {store.name!r})"
    )
    volume = ctx.fresh_volume(position, entry["mount_path"])
    tick = Ticker(ctx, label, total)
    target = ctx.local_path(volume)
    try:
        if target is not None:
            cache = ctx.runtime.volume_create(
                s3.cache_volume_name(
                    endpoint=endpoint, bucket=bucket, prefix=prefix, access_key_id=store.access_key_id
                ),
                labels={
                    LABEL_INSTALLATION: settings.BERTH_INSTALLATION,
                    LABEL_CACHE: "oss",
                    LABEL_KEEP: "true",
                    "berth.source": f"{endpoint}/{bucket}/{prefix}",
                },
            )
            cache_dir = Path(cache.mountpoint)
            with s3.locked(cache_dir / ".lock", tick):
                result = s3.sync_into_cache(
                    client, bucket=bucket, objects=objects, cache=cache_dir, threads=threads, tick=tick
                )
                s3.fill_from_cache(objects=objects, cache=cache_dir, target=target, link=read_only, tick=tick)
            downloaded, downloaded_bytes = result.downloaded, result.downloaded_bytes
        else:
            ctx.runtime.volume_put_archive(
                volume.name, s3.tar_stream(client, bucket=bucket, objects=objects, tick=tick), labels=ctx.labels
            )
            downloaded, downloaded_bytes = files, total
    except (BotoCoreError, ClientError) as exc:
        raise s3.failure(exc, store=store.name, endpoint=endpoint, bucket=bucket, prefix=prefix) from exc
    except OSError as exc:
        raise RuntimeFailure(f"writing {source} into volume {volume.name} failed: {exc}", reason=REASON) from exc
    seconds = time.monotonic() - started
    cached = files - downloaded
    ctx.event(
        "MountReady",
        f"{label}: ready, {files} objects, {human_size(total)}; downloaded {downloaded} ({human_size(downloaded_bytes)}) "
        f"in {seconds:.1f}s" + (f", {cached} unchanged from this host's cache" if target is not None else ""),
    )
    ctx.record(
        position,
        entry,
        "oss",
        source,
        read_only,
        volume.name,
        objects=files,
        bytes=total,
        downloaded=downloaded,
        downloaded_bytes=downloaded_bytes,
        cached=cached,
        seconds=round(seconds, 2),
        endpoint=endpoint,
        object_store=store.name,
    )
    return volume_mount(volume.name, entry["mount_path"], read_only)


def mount_nfs(ctx: MountContext, position: int, entry: dict) -> dict:
    nfs = entry["nfs"]
    read_only = bool(nfs.get("readOnly"))
    server, path = nfs["server"], nfs["path"]
    options = {"type": "nfs", "o": f"addr={server},{'ro' if read_only else 'rw'}", "device": f":{path}"}
    volume = ctx.fresh_volume(position, entry["mount_path"], driver_opts=options)
    # Docker mounts an NFS volume only when a container starts: try it now, so the reason is about NFS.
    try:
        ctx.runtime.volume_check_mount(volume.name, labels=ctx.labels)
    except RuntimeFailure as exc:
        hint = ""
        if "no such device" in str(exc):
            hint = " (this host's kernel has no NFS client: load the nfs module, or run the service on another host)"
        raise RuntimeFailure(
            f"host {ctx.host.name} could not mount NFS {server}:{path}: {exc}{hint}", reason=REASON
        ) from exc
    ctx.record(position, entry, "nfs", f"{server}:{path}", read_only, volume.name, options=options)
    return volume_mount(volume.name, entry["mount_path"], read_only)


def mount_git(ctx: MountContext, position: int, entry: dict) -> dict:
    git = entry["git"]
    url = git_repo.clean_url(git["repo"])[0]
    what = f"branch {git['branch']}" if git.get("branch") else "default branch"
    if git.get("commit"):
        what = f"commit {git['commit']}"
    label = f"storage[{position}] {url} → {entry['mount_path']}"
    ctx.event("PreparingMount", f"{label}: cloning the {what}")
    volume = ctx.fresh_volume(position, entry["mount_path"])
    started = time.monotonic()
    tick = Ticker(ctx, label, 0)
    options = dict(
        repo=git["repo"],
        branch=git.get("branch"),
        commit=git.get("commit"),
        username=git.get("username"),
        password=git.get("password"),
        git=settings.BERTH_GIT_BINARY,
        ca_bundle=ca_bundle(),
        timeout=settings.BERTH_STORAGE_TIMEOUT,
        tick=tick,
    )
    target = ctx.local_path(volume)
    if target is not None:
        commit = git_repo.clone(dest=target, **options)
    else:
        with tempfile.TemporaryDirectory(prefix="berth-clone-") as scratch:
            commit = git_repo.clone(dest=Path(scratch) / "repo", **options)
            ctx.runtime.volume_put_archive(volume.name, _tar_directory(Path(scratch) / "repo", tick), labels=ctx.labels)
    seconds = time.monotonic() - started
    ctx.event("MountReady", f"{label}: cloned {commit[:12]} in {seconds:.1f}s (read-only)")
    ctx.record(
        position,
        entry,
        "git",
        url,
        True,
        volume.name,
        commit=commit,
        branch=git.get("branch", ""),
        seconds=round(seconds, 2),
    )
    # EAS mounts git repositories read-only.
    return volume_mount(volume.name, entry["mount_path"], True)


def _tar_directory(root: Path, tick) -> Iterator[bytes]:
    """A directory as a tar stream with entries relative to it, written to a scratch file first."""
    with tempfile.TemporaryFile() as scratch:
        with tarfile.open(fileobj=scratch, mode="w") as tar:
            for name in sorted(os.listdir(root)):
                tar.add(root / name, arcname=name)
                tick()
        scratch.seek(0)
        while chunk := scratch.read(s3.CHUNK):
            yield chunk


def mount_image(ctx: MountContext, position: int, entry: dict) -> dict:
    image, path = entry["image"]["image"], entry["image"]["path"]
    label = f"storage[{position}] {image}:{path} → {entry['mount_path']}"
    ctx.event("PreparingMount", f"{label}: copying the directory out of the image")
    started = time.monotonic()
    tick = Ticker(ctx, label, 0)
    tick()
    # As for the service's own images: a tagged image already on the host is used as is, else pulled
    # with the service's registry credentials.
    if not (pinned_tag(image) and ctx.runtime.image_has(image)):
        auth = registry_auth_for(service=ctx.service, config=ctx.config, image=image)
        ctx.runtime.pull(image, auth)
    volume = ctx.fresh_volume(position, entry["mount_path"])
    done = 0

    def on_bytes(n: int) -> None:
        nonlocal done
        done += n
        tick(done)

    copied = ctx.runtime.volume_copy_from_image(image, path, volume.name, labels=ctx.labels, on_bytes=on_bytes)
    seconds = time.monotonic() - started
    ctx.event("MountReady", f"{label}: copied {human_size(copied)} in {seconds:.1f}s")
    ctx.record(position, entry, "image", f"{image}:{path}", False, volume.name, bytes=copied, seconds=round(seconds, 2))
    return volume_mount(volume.name, entry["mount_path"], False)


def _memory_options(size_gb: int | None, config: dict) -> dict:
    options = {"type": "tmpfs", "device": "tmpfs"}
    memory_mb = (config.get("metadata") or {}).get("memory")
    if size_gb:
        options["o"] = f"size={size_gb}g"
    elif memory_mb:
        options["o"] = f"size={memory_mb}m"  # like Kubernetes: bounded by the instance's memory
    return options


def mount_empty_dir(ctx: MountContext, position: int, entry: dict) -> dict:
    body = entry["empty_dir"]
    memory = body.get("medium") == "memory"
    size = body.get("size_limit")
    if memory:
        # A tmpfs volume rather than a per-container tmpfs: every container of the instance shares it,
        # and at /dev/shm it replaces Docker's 64 MB shared memory (the EAS shared-memory setting).
        options = _memory_options(size, ctx.config)
        volume = ctx.fresh_volume(position, entry["mount_path"], driver_opts=options)
        ctx.record(
            position, entry, "empty_dir", "memory", False, volume.name, size=options.get("o", "").removeprefix("size=")
        )
        return volume_mount(volume.name, entry["mount_path"], False)
    volume = ctx.fresh_volume(position, entry["mount_path"])
    # Writable by any user, as a Kubernetes emptyDir is (the image's user may not be root).
    target = ctx.local_path(volume)
    if target is not None:
        os.chmod(target, 0o777)
    else:
        ctx.runtime.volume_put_archive(volume.name, _mode_archive("scratch", 0o777), labels=ctx.labels, root="scratch")
    # A disk volume of the local driver has no size limit: size_limit is recorded, not enforced.
    ctx.record(
        position,
        entry,
        "empty_dir",
        "disk",
        False,
        volume.name,
        **({"size_limit_gb": size, "size_limit_enforced": False} if size else {}),
    )
    return volume_mount(volume.name, entry["mount_path"], False)


def _mode_archive(root: str, mode: int) -> bytes:
    """A tar whose only entry is the directory `root` with `mode`: put with root=`root`, it sets the
    mode of the volume's root directory."""

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(root)
        info.type, info.mode = tarfile.DIRTYPE, mode
        tar.addfile(info)
    return buffer.getvalue()


def mount_shm(ctx: MountContext, position: int, size_gb: int) -> dict:
    """metadata.shm_size (GB) without a storage entry at /dev/shm: a shared-memory volume of that size."""
    options = _memory_options(size_gb, ctx.config)
    volume = ctx.fresh_volume(position, "/dev/shm", driver_opts=options)
    ctx.records.append(
        dict(
            position=position,
            mount_path="/dev/shm",
            kind="shm",
            source="metadata.shm_size",
            read_only=False,
            volume=volume.name,
            detail={"size": f"{size_gb}g"},
        )
    )
    return volume_mount(volume.name, "/dev/shm", False)


def mount_host_path(ctx: MountContext, position: int, entry: dict) -> dict:
    berth = entry["berth"]
    path, read_only = berth["host_path"], bool(berth.get("readOnly"))
    refusal = host_path_refusal(path)
    if refusal:
        raise RuntimeFailure(refusal, reason=REASON)
    source = path
    if ctx.runtime.shares_filesystem():
        # The same check on the real path: a symlink must not lead out of the allowed roots.
        source = os.path.realpath(path)
        refusal = host_path_refusal(source)
        if refusal:
            raise RuntimeFailure(f"{path} resolves to {source}: {refusal}", reason=REASON)
        if not os.path.isdir(source):
            raise RuntimeFailure(f"{path} is not a directory on host {ctx.host.name}", reason=REASON)
    ctx.record(position, entry, "host_path", path, read_only)
    return {"type": "bind", "source": source, "target": entry["mount_path"], "read_only": read_only}
