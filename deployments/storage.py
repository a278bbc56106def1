"""Storage mounts (`storage[]` of a config): volumes prepared before an instance starts.

`prepare_mounts` is called by the engine for every new instance, after placement and
before any container starts; the mounts it returns are given to every container of the
instance (EAS shares mounts across an instance's containers). It raises RuntimeError_
with a reason a person can act on when a mount cannot be prepared; the engine turns that
into a Failed instance, a Warning event and, for a create, a Failed service.

Every volume made here carries berth.installation, berth.service, berth.instance and
berth.instance-id labels, so the engine's delete removes it with the service; volumes of
instances that no longer exist are collected when the next instance of the service starts.
The per-host oss caches carry berth.keep=true and no service label: they outlive services.

| type | what the instance gets |
|---|---|
| oss | a volume filled from the prefix (storage_s3), read-only when oss.readOnly |
| nfs | a local-driver volume with NFS options, mounted once here to surface errors early |
| git | a volume with a clone made on the worker (storage_git), always read-only |
| image | a volume with a directory copied out of another image |
| empty_dir | a fresh volume; medium "memory" is a tmpfs volume (at /dev/shm: the shared memory) |
| berth.host_path | a bind mount of an allow-listed host directory |
| dataset, code | nothing: Alibaba Cloud only (the spec warns "ignored") |
"""

from __future__ import annotations

import hashlib
import logging
import os
import posixpath
import ssl
import tarfile
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from deployments import storage_git, storage_s3
from deployments.runtime import LABEL_INSTALLATION, LABEL_INSTANCE, LABEL_ROLE, LABEL_SERVICE, RuntimeError_
from deployments.spec_checks import host_path_problem

log = logging.getLogger(__name__)

LABEL_INSTANCE_ID = "berth.instance-id"
LABEL_MOUNT = "berth.mount"  # the mount path, for people reading `docker volume inspect`
LABEL_KEEP = "berth.keep"  # volumes that outlive services (the oss caches)
LABEL_CACHE = "berth.cache"
REASON = "MountFailed"


# --- validation the spec cannot do (it knows neither settings nor the workspace) ----------------


def host_path_refusal(path: str, roots: list[str] | None = None) -> str | None:
    """Why `path` may not be bind-mounted here, or None. `roots` defaults to BERTH_HOST_PATH_ROOTS."""
    problem = host_path_problem(path)
    if problem:
        return problem
    roots = settings.BERTH_HOST_PATH_ROOTS if roots is None else roots
    if not roots:
        return (
            "host paths are turned off on this installation: an administrator lists the directories "
            "services may mount in BERTH_HOST_PATH_ROOTS"
        )
    clean = posixpath.normpath(path)
    for root in roots:
        root = posixpath.normpath(root)
        if clean == root or clean.startswith(root.rstrip("/") + "/"):
            return None
    return f"{clean} is not under a directory an administrator allowed (BERTH_HOST_PATH_ROOTS: {', '.join(roots)})"


def config_problems(config: dict, *, workspace) -> list[dict]:
    """Errors ({path, message}) about a valid config's storage that depend on settings or the workspace:
    host paths outside BERTH_HOST_PATH_ROOTS, object-store connections that do not exist.

    deployments.services._validated calls this after the spec (Django-free) has passed.
    """
    errors = []
    names = set(workspace.object_stores.values_list("name", flat=True))
    wanted = (config.get("berth") or {}).get("object_store")
    if wanted and wanted not in names:
        errors.append({"path": "berth.object_store", "message": _no_store(wanted, workspace)})
    for i, entry in enumerate(config.get("storage") or []):
        berth = entry.get("berth") or {}
        if "host_path" in berth:
            refusal = host_path_refusal(berth["host_path"])
            if refusal:
                errors.append({"path": f"storage[{i}].berth.host_path", "message": refusal})
        if berth.get("object_store") and berth["object_store"] not in names:
            errors.append({"path": f"storage[{i}].berth.object_store", "message": _no_store(berth["object_store"], workspace)})
    return errors


def _no_store(name: str, workspace) -> str:
    return f"no object-store connection named {name!r} in workspace {workspace.name!r}: add it on the workspace page"


# --- preparing an instance's mounts ---------------------------------------------------------------


@dataclass
class _Context:
    runtime: object
    host: object
    service: object
    config: dict
    instance_name: str
    instance_id: int
    records: list = field(default_factory=list)

    @property
    def labels(self) -> dict[str, str]:
        return {
            LABEL_INSTALLATION: settings.BERTH_INSTALLATION,
            LABEL_SERVICE: self.service.name,
            LABEL_INSTANCE: self.instance_name,
            LABEL_INSTANCE_ID: str(self.instance_id),
            LABEL_ROLE: "storage",
        }

    def event(self, reason: str, message: str, *, warning: bool = False) -> None:
        from deployments import engine  # the engine imports this module

        engine.event_record(service=self.service, reason=reason, message=message, warning=warning, instance=self.instance_name)

    def fresh_volume(self, position: int, mount_path: str, *, driver_opts: dict | None = None):
        """A new, empty volume for one mount of this instance (a leftover of the same name is replaced)."""
        name = f"{self.instance_name}-{self.instance_id}-m{position}"
        labels = {**self.labels, LABEL_MOUNT: mount_path}
        # The name is unique to this Instance row: a volume of that name was left by an earlier attempt at
        # this same instance (a worker killed mid-prepare) and is replaced. Locally one create call tells.
        if self.runtime.shares_filesystem():
            volume = self.runtime.volume_create(name, labels=labels, driver_opts=driver_opts)
            local = self.local_path(volume)
            if local is not None and not any(local.iterdir()) and volume.options == (driver_opts or {}):
                return volume
        elif self.runtime.volume_get(name) is None:
            return self.runtime.volume_create(name, labels=labels, driver_opts=driver_opts)
        if not self.runtime.volume_remove(name):
            raise RuntimeError_(f"volume {name} is still used by a container; it cannot be prepared again", reason=REASON)
        return self.runtime.volume_create(name, labels=labels, driver_opts=driver_opts)

    def local_path(self, volume) -> Path | None:
        """The volume's directory when this process can write it (a local socket, and a worker that sees
        and may write Docker's volumes directory), else None: then everything goes through the Docker API."""
        mountpoint = volume.mountpoint
        if self.runtime.shares_filesystem() and mountpoint and os.path.isdir(mountpoint) and os.access(mountpoint, os.W_OK):
            return Path(mountpoint)
        return None

    def record(self, position: int, entry: dict, kind: str, source: str, read_only: bool, volume: str = "", **detail):
        self.records.append(
            dict(position=position, mount_path=entry["mount_path"], kind=kind, source=source, read_only=read_only,
                 volume=volume, detail=detail)
        )


class _Ticker:
    """Called often during long work: keeps the service's convergence lock and reports progress as events."""

    def __init__(self, ctx: _Context, label: str, total: int):
        self.ctx, self.label, self.total = ctx, label, total
        self.last_keepalive = self.last_event = time.monotonic()

    def __call__(self, done: int | None = None) -> None:
        from deployments import engine

        now = time.monotonic()
        if now - self.last_keepalive >= 1:
            engine.lock_keepalive()
            self.last_keepalive = now
        if done is not None and now - self.last_event >= settings.BERTH_STORAGE_PROGRESS_SECONDS:
            self.last_event = now
            of = f" of {human_size(self.total)}" if self.total else ""
            self.ctx.event("MountProgress", f"{self.label}: {human_size(done)}{of}")


def human_size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1000 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def kind_of(entry: dict) -> str:
    if "host_path" in (entry.get("berth") or {}):
        return "host_path"
    return next((k for k in ("oss", "nfs", "git", "image", "empty_dir", "dataset", "code") if k in entry), "")


def prepare_mounts(*, runtime, host, service, version, config: dict, instance_name: str) -> list[dict]:
    """Docker mount dicts (target, source, type, read_only, ...) for one instance.

    Records an InstanceMount row per mount and events (progress and size for copies). Raises
    RuntimeError_ (reason MountFailed) naming the storage entry when one cannot be prepared.
    """
    from deployments.models import Instance
    from deployments.models_storage import InstanceMount

    storage = config.get("storage") or []
    memory_shm = (config.get("metadata") or {}).get("shm_size")
    if not storage and not memory_shm:
        return []
    instance = Instance.objects.filter(name=instance_name).only("pk").first()
    ctx = _Context(runtime, host, service, config, instance_name, instance.pk if instance else 0)
    collect_orphan_volumes(runtime=runtime, service=service)
    handlers = {"oss": _oss, "nfs": _nfs, "git": _git, "image": _image, "empty_dir": _empty_dir, "host_path": _host_path}
    mounts = []
    for position, entry in enumerate(storage):
        kind = kind_of(entry)
        if kind not in handlers:
            continue  # dataset / code: Alibaba Cloud only, reported as ignored by the spec
        where = f"storage[{position}] ({_describe(entry, kind)} at {entry['mount_path']})"
        try:
            mounts.append(handlers[kind](ctx, position, entry))
        except RuntimeError_ as exc:
            raise RuntimeError_(f"{where}: {exc}", reason=exc.reason if exc.reason != "Error" else REASON) from exc
        except Exception as exc:  # never leave the instance Creating because of a surprise: say what failed
            log.exception("preparing %s of %s failed", where, instance_name)
            raise RuntimeError_(f"{where}: {type(exc).__name__}: {exc}", reason=REASON) from exc
    if memory_shm and not any(m["target"].rstrip("/") == "/dev/shm" for m in mounts):
        mounts.append(_shm(ctx, len(storage), memory_shm))
    if instance is not None:
        InstanceMount.objects.bulk_create(InstanceMount(instance_id=instance.pk, **r) for r in ctx.records)
    return mounts


def _describe(entry: dict, kind: str) -> str:
    """A mount's source for people: never a credential."""
    body = entry.get(kind) or {}
    if kind == "oss":
        bucket, prefix = storage_s3.parse_oss_path(body.get("path", "oss://"))
        return f"oss://{bucket}/{prefix}"
    if kind == "nfs":
        return f"nfs {body.get('server')}:{body.get('path')}"
    if kind == "git":
        return storage_git.clean_url(body.get("repo", ""))[0]
    if kind == "image":
        return f"{body.get('image')}:{body.get('path')}"
    if kind == "empty_dir":
        return "empty_dir (memory)" if body.get("medium") == "memory" else "empty_dir"
    if kind == "host_path":
        return f"host path {entry['berth']['host_path']}"
    return kind


def _volume_mount(volume: str, target: str, read_only: bool) -> dict:
    # no_copy: like Kubernetes, the image's files at the mount path are hidden, never copied in.
    return {"type": "volume", "source": volume, "target": target, "read_only": read_only, "no_copy": True}


def _oss(ctx: _Context, position: int, entry: dict) -> dict:
    from botocore.exceptions import BotoCoreError, ClientError

    from deployments import storage_stores

    oss = entry["oss"]
    read_only = bool(oss.get("readOnly"))
    bucket, prefix = storage_s3.parse_oss_path(oss["path"])
    source = f"oss://{bucket}/{prefix}"
    store = storage_stores.object_store_for_mount(workspace=ctx.service.workspace, config=ctx.config, entry=entry)
    if store is None:
        named = (entry.get("berth") or {}).get("object_store") or (ctx.config.get("berth") or {}).get("object_store")
        raise RuntimeError_(
            _no_store(named, ctx.service.workspace) if named else (
                f"workspace {ctx.service.workspace.name!r} has no default object-store connection: add one on the "
                "workspace page, or name one in berth.object_store"
            ),
            reason=REASON,
        )
    endpoint = storage_s3.endpoint_for(store.endpoint_url, oss.get("endpoint"))
    threads = settings.BERTH_STORAGE_DOWNLOAD_THREADS
    started = time.monotonic()
    try:
        client = storage_s3.client_for(
            endpoint=endpoint, region=store.region, addressing_style=store.addressing_style,
            access_key_id=store.access_key_id, secret_access_key=store.secret_access_key,
            ca_bundle=ca_bundle(), pool=threads,
        )
        objects, skipped = storage_s3.list_prefix(client, bucket, prefix)
    except (BotoCoreError, ClientError) as exc:
        raise storage_s3.failure(exc, store=store.name, endpoint=endpoint, bucket=bucket, prefix=prefix) from exc
    total = sum(o.size for o in objects)
    files = sum(1 for o in objects if not o.rel.endswith("/"))
    label = f"storage[{position}] {source} → {entry['mount_path']}"
    if skipped:
        ctx.event("MountSkipped", f"{label}: skipped {len(skipped)} keys that cannot be file names, e.g. {skipped[0]!r}", warning=True)
    if not files:
        ctx.event("MountEmpty", f"{label}: no objects under {source} at {endpoint}; the mount is empty", warning=True)
    ctx.event("PreparingMount", f"{label}: {files} objects, {human_size(total)} from {endpoint} (connection {store.name!r})")
    volume = ctx.fresh_volume(position, entry["mount_path"])
    tick = _Ticker(ctx, label, total)
    target = ctx.local_path(volume)
    try:
        if target is not None:
            cache = ctx.runtime.volume_create(
                storage_s3.cache_volume_name(endpoint=endpoint, bucket=bucket, prefix=prefix, access_key_id=store.access_key_id),
                labels={LABEL_INSTALLATION: settings.BERTH_INSTALLATION, LABEL_CACHE: "oss", LABEL_KEEP: "true",
                        "berth.source": f"{endpoint}/{bucket}/{prefix}"},
            )
            cache_dir = Path(cache.mountpoint)
            with storage_s3.locked(cache_dir / ".lock", tick):
                result = storage_s3.sync_into_cache(
                    client, bucket=bucket, objects=objects, cache=cache_dir, threads=threads, tick=tick
                )
                storage_s3.fill_from_cache(objects=objects, cache=cache_dir, target=target, link=read_only, tick=tick)
            downloaded, downloaded_bytes = result.downloaded, result.downloaded_bytes
        else:
            ctx.runtime.volume_put_archive(
                volume.name, storage_s3.tar_stream(client, bucket=bucket, objects=objects, tick=tick), labels=ctx.labels
            )
            downloaded, downloaded_bytes = files, total
    except (BotoCoreError, ClientError) as exc:
        raise storage_s3.failure(exc, store=store.name, endpoint=endpoint, bucket=bucket, prefix=prefix) from exc
    except OSError as exc:
        raise RuntimeError_(f"writing {source} into volume {volume.name} failed: {exc}", reason=REASON) from exc
    seconds = time.monotonic() - started
    cached = files - downloaded
    ctx.event(
        "MountReady",
        f"{label}: ready, {files} objects, {human_size(total)}; downloaded {downloaded} ({human_size(downloaded_bytes)}) "
        f"in {seconds:.1f}s" + (f", {cached} unchanged from this host's cache" if target is not None else ""),
    )
    ctx.record(position, entry, "oss", source, read_only, volume.name, objects=files, bytes=total,
               downloaded=downloaded, downloaded_bytes=downloaded_bytes, cached=cached, seconds=round(seconds, 2),
               endpoint=endpoint, object_store=store.name)
    return _volume_mount(volume.name, entry["mount_path"], read_only)


def _nfs(ctx: _Context, position: int, entry: dict) -> dict:
    nfs = entry["nfs"]
    read_only = bool(nfs.get("readOnly"))
    server, path = nfs["server"], nfs["path"]
    options = {"type": "nfs", "o": f"addr={server},{'ro' if read_only else 'rw'}", "device": f":{path}"}
    volume = ctx.fresh_volume(position, entry["mount_path"], driver_opts=options)
    # Docker mounts an NFS volume only when a container starts: try it now, so the reason is about NFS.
    try:
        ctx.runtime.volume_check_mount(volume.name, labels=ctx.labels)
    except RuntimeError_ as exc:
        hint = ""
        if "no such device" in str(exc):
            hint = " (this host's kernel has no NFS client: load the nfs module, or run the service on another host)"
        raise RuntimeError_(f"host {ctx.host.name} could not mount NFS {server}:{path}: {exc}{hint}", reason=REASON) from exc
    ctx.record(position, entry, "nfs", f"{server}:{path}", read_only, volume.name, options=options)
    return _volume_mount(volume.name, entry["mount_path"], read_only)


def _git(ctx: _Context, position: int, entry: dict) -> dict:
    git = entry["git"]
    url = storage_git.clean_url(git["repo"])[0]
    what = f"branch {git['branch']}" if git.get("branch") else "default branch"
    if git.get("commit"):
        what = f"commit {git['commit']}"
    label = f"storage[{position}] {url} → {entry['mount_path']}"
    ctx.event("PreparingMount", f"{label}: cloning the {what}")
    volume = ctx.fresh_volume(position, entry["mount_path"])
    started = time.monotonic()
    tick = _Ticker(ctx, label, 0)
    options = dict(
        repo=git["repo"], branch=git.get("branch"), commit=git.get("commit"), username=git.get("username"),
        password=git.get("password"), git=settings.BERTH_GIT_BINARY, ca_bundle=ca_bundle(),
        timeout=settings.BERTH_STORAGE_TIMEOUT, tick=tick,
    )
    target = ctx.local_path(volume)
    if target is not None:
        commit = storage_git.clone(dest=target, **options)
    else:
        with tempfile.TemporaryDirectory(prefix="berth-clone-") as scratch:
            commit = storage_git.clone(dest=Path(scratch) / "repo", **options)
            ctx.runtime.volume_put_archive(volume.name, _tar_directory(Path(scratch) / "repo", tick), labels=ctx.labels)
    seconds = time.monotonic() - started
    ctx.event("MountReady", f"{label}: cloned {commit[:12]} in {seconds:.1f}s (read-only)")
    ctx.record(position, entry, "git", url, True, volume.name, commit=commit, branch=git.get("branch", ""),
               seconds=round(seconds, 2))
    # EAS mounts git repositories read-only.
    return _volume_mount(volume.name, entry["mount_path"], True)


def _tar_directory(root: Path, tick) -> Iterator[bytes]:
    """A directory as a tar stream with entries relative to it, written to a scratch file first."""
    with tempfile.TemporaryFile() as scratch:
        with tarfile.open(fileobj=scratch, mode="w") as tar:
            for name in sorted(os.listdir(root)):
                tar.add(root / name, arcname=name)
                tick()
        scratch.seek(0)
        while chunk := scratch.read(storage_s3.CHUNK):
            yield chunk


def _image(ctx: _Context, position: int, entry: dict) -> dict:
    from deployments import engine

    image, path = entry["image"]["image"], entry["image"]["path"]
    label = f"storage[{position}] {image}:{path} → {entry['mount_path']}"
    ctx.event("PreparingMount", f"{label}: copying the directory out of the image")
    started = time.monotonic()
    tick = _Ticker(ctx, label, 0)
    tick()
    # As for the service's own images: a tagged image already on the host is used as is, else pulled
    # with the service's registry credentials.
    if not (engine.pinned_tag(image) and ctx.runtime.image_has(image)):
        auth = engine.registry_auth_for(service=ctx.service, config=ctx.config, image=image)
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
    return _volume_mount(volume.name, entry["mount_path"], False)


def _memory_options(size_gb: int | None, config: dict) -> dict:
    options = {"type": "tmpfs", "device": "tmpfs"}
    memory_mb = (config.get("metadata") or {}).get("memory")
    if size_gb:
        options["o"] = f"size={size_gb}g"
    elif memory_mb:
        options["o"] = f"size={memory_mb}m"  # like Kubernetes: bounded by the instance's memory
    return options


def _empty_dir(ctx: _Context, position: int, entry: dict) -> dict:
    body = entry["empty_dir"]
    memory = body.get("medium") == "memory"
    size = body.get("size_limit")
    if memory:
        # A tmpfs volume rather than a per-container tmpfs: every container of the instance shares it,
        # and at /dev/shm it replaces Docker's 64 MB shared memory (the EAS shared-memory setting).
        options = _memory_options(size, ctx.config)
        volume = ctx.fresh_volume(position, entry["mount_path"], driver_opts=options)
        ctx.record(position, entry, "empty_dir", "memory", False, volume.name, size=options.get("o", "").removeprefix("size="))
        return _volume_mount(volume.name, entry["mount_path"], False)
    volume = ctx.fresh_volume(position, entry["mount_path"])
    # Writable by any user, as a Kubernetes emptyDir is (the image's user may not be root).
    target = ctx.local_path(volume)
    if target is not None:
        os.chmod(target, 0o777)
    else:
        ctx.runtime.volume_put_archive(volume.name, _mode_archive("scratch", 0o777), labels=ctx.labels, root="scratch")
    # A disk volume of the local driver has no size limit: size_limit is recorded, not enforced.
    ctx.record(position, entry, "empty_dir", "disk", False, volume.name,
               **({"size_limit_gb": size, "size_limit_enforced": False} if size else {}))
    return _volume_mount(volume.name, entry["mount_path"], False)


def _mode_archive(root: str, mode: int) -> bytes:
    """A tar whose only entry is the directory `root` with `mode`: put with root=`root`, it sets the
    mode of the volume's root directory."""
    import io

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        info = tarfile.TarInfo(root)
        info.type, info.mode = tarfile.DIRTYPE, mode
        tar.addfile(info)
    return buffer.getvalue()


def _shm(ctx: _Context, position: int, size_gb: int) -> dict:
    """metadata.shm_size (GB) without a storage entry at /dev/shm: a shared-memory volume of that size."""
    options = _memory_options(size_gb, ctx.config)
    volume = ctx.fresh_volume(position, "/dev/shm", driver_opts=options)
    ctx.records.append(dict(position=position, mount_path="/dev/shm", kind="shm", source="metadata.shm_size",
                            read_only=False, volume=volume.name, detail={"size": f"{size_gb}g"}))
    return _volume_mount(volume.name, "/dev/shm", False)


def _host_path(ctx: _Context, position: int, entry: dict) -> dict:
    berth = entry["berth"]
    path, read_only = berth["host_path"], bool(berth.get("readOnly"))
    refusal = host_path_refusal(path)
    if refusal:
        raise RuntimeError_(refusal, reason=REASON)
    source = path
    if ctx.runtime.shares_filesystem():
        # The same check on the real path: a symlink must not lead out of the allowed roots.
        source = os.path.realpath(path)
        refusal = host_path_refusal(source)
        if refusal:
            raise RuntimeError_(f"{path} resolves to {source}: {refusal}", reason=REASON)
        if not os.path.isdir(source):
            raise RuntimeError_(f"{path} is not a directory on host {ctx.host.name}", reason=REASON)
    ctx.record(position, entry, "host_path", path, read_only)
    return {"type": "bind", "source": source, "target": entry["mount_path"], "read_only": read_only}


# --- cleanup ------------------------------------------------------------------------------------


def collect_orphan_volumes(*, runtime, service) -> int:
    """Remove this service's volumes whose instance no longer exists (a volume still in use stays)."""
    from deployments.models import Instance

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


# --- reads --------------------------------------------------------------------------------------


def mount_body(mount) -> dict:
    """One InstanceMount for the API and the console (sources never carry credentials)."""
    return {
        "mount_path": mount.mount_path,
        "type": mount.kind,
        "source": mount.source,
        "read_only": mount.read_only,
        "volume": mount.volume,
        "detail": mount.detail,
    }


def service_mounts(*, service) -> list[dict]:
    """[{instance, status, mounts: [...]}] for every instance of the service, in two queries."""
    instances = service.instances.prefetch_related("mounts").select_related("version").order_by("version__number", "ordinal")
    return [
        {"instance": i.name, "version": i.version.number, "status": i.status, "mounts": [mount_body(m) for m in i.mounts.all()]}
        for i in instances
    ]


# --- trust --------------------------------------------------------------------------------------


def ca_bundle() -> str | None:
    """The CA file git and the S3 client verify with: the system's plus BERTH_STORAGE_CA_BUNDLE, or None
    (their defaults) when no extra bundle is set."""
    extra = settings.BERTH_STORAGE_CA_BUNDLE
    if not extra:
        return None
    try:
        extra_pem = Path(extra).read_bytes()
    except OSError as exc:
        raise RuntimeError_(f"BERTH_STORAGE_CA_BUNDLE={extra} cannot be read: {exc}", reason=REASON) from exc
    candidates = [os.environ.get("SSL_CERT_FILE"), ssl.get_default_verify_paths().cafile, "/etc/ssl/certs/ca-certificates.crt"]
    base = next((Path(c) for c in candidates if c and os.path.isfile(c)), None)
    pem = (base.read_bytes() if base else b"") + b"\n" + extra_pem
    directory = Path(settings.BASE_DIR) / "var" / "storage"
    directory.mkdir(parents=True, exist_ok=True)
    combined = directory / f"ca-{hashlib.sha256(pem).hexdigest()[:16]}.pem"
    if not combined.exists():
        partial = combined.with_suffix(f".{os.getpid()}.tmp")
        partial.write_bytes(pem)
        os.replace(partial, combined)
    return str(combined)


