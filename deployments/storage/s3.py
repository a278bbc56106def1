"""oss mounts: an object-store prefix copied into a volume, speaking only the standard S3 protocol.

Alibaba OSS, MinIO and AWS S3 all answer ListObjectsV2 and GetObject, which is all this uses.

On a host whose files this process sees (a local unix:// socket), objects are downloaded into a
per-host cache volume keyed by endpoint, bucket, prefix and access key, next to a manifest of their
ETags; an object whose ETag did not change is not downloaded again. The instance's volume then gets
hard links into the cache (read-only mounts: instant, the container cannot change them) or copies
(writable mounts). An updated object replaces the cache's file by rename, so instances that linked
the old file keep it. On other hosts the objects are streamed as a tar into the volume through the
Docker API, without a cache.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import tarfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deployments.runtime import RuntimeFailure
from deployments.storage import endpoints

MANIFEST = "manifest.json"
OBJECTS = "objects"
CHUNK = 1 << 20


@dataclass(frozen=True)
class S3Object:
    key: str
    rel: str  # path below the mount's root; ends with "/" for a directory marker
    etag: str
    size: int


@dataclass
class SyncResult:
    objects: int = 0
    bytes: int = 0
    downloaded: int = 0
    downloaded_bytes: int = 0


def parse_oss_path(path: str) -> tuple[str, str]:
    """`oss://bucket/dir/` → ("bucket", "dir/"); a prefix always ends with "/" (EAS mounts directories)."""
    rest = path[len("oss://") :]
    bucket, _, prefix = rest.partition("/")
    prefix = prefix.strip("/")
    return bucket, (prefix + "/" if prefix else "")


def endpoint_for(store_endpoint: str, mount_endpoint: str | None) -> str:
    """`oss.endpoint` of the mount, when given, wins over the connection's (https:// when it has no scheme)."""
    if not mount_endpoint:
        return store_endpoint
    return mount_endpoint if "://" in mount_endpoint else f"https://{mount_endpoint}"


_clients: dict[tuple, object] = {}
_clients_lock = threading.Lock()
_session = None


def client_for(*, endpoint: str, region: str, addressing_style: str, access_key_id: str, secret_access_key: str,
               ca_bundle: str | None, pool: int):
    """An S3 client for these settings, kept for the life of the process: building one loads botocore's
    service models (~0.15 s), which would otherwise be paid at every instance start. Clients are
    thread-safe; the session that makes them is not, hence the lock."""
    # Checked at every use, not only when the connection was saved: names re-resolve, settings change.
    try:
        endpoints.check_endpoint(endpoint)
    except endpoints.EndpointRefused as exc:
        raise RuntimeFailure(str(exc), reason="MountFailed") from exc
    # boto3 is imported where it is used: it takes ~0.3 s to import and only storage work needs it.
    import boto3
    from botocore.config import Config

    global _session
    key = (endpoint, region, addressing_style, access_key_id,
           hashlib.sha256(secret_access_key.encode()).hexdigest(), ca_bundle, pool)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            if _session is None:
                _session = boto3.session.Session()
            if len(_clients) >= 64:
                _clients.pop(next(iter(_clients)))
            client = _clients[key] = _session.client(
                "s3",
                endpoint_url=endpoint,
                region_name=region or "us-east-1",
                aws_access_key_id=access_key_id,
                aws_secret_access_key=secret_access_key,
                verify=ca_bundle if ca_bundle else None,
                config=Config(
                    s3={"addressing_style": addressing_style},
                    retries={"max_attempts": 3, "mode": "standard"},
                    connect_timeout=10,
                    read_timeout=60,
                    max_pool_connections=max(10, pool),
                ),
            )
        return client


def failure(exc: Exception, *, store: str, endpoint: str, bucket: str, prefix: str) -> RuntimeFailure:
    """A botocore error as a sentence naming the bucket, the endpoint and the connection."""
    from botocore.exceptions import ClientError, HTTPClientError, SSLError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    where = f"oss://{bucket}/{prefix}"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error") or {}
        code = error.get("Code") or str(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))
        if code == "NoSuchBucket":
            message = f"bucket {bucket!r} does not exist at {endpoint} (object store {store!r}): check the oss path"
        elif code in ("InvalidAccessKeyId", "InvalidAccessKeyID"):
            message = (
                f"the object store at {endpoint} does not know the access key of connection {store!r}: "
                "check its access key id"
            )
        elif code == "SignatureDoesNotMatch":
            message = (
                f"the object store at {endpoint} refused the secret of connection {store!r}: check its secret access key"
            )
        elif code in ("AccessDenied", "403", "AllAccessDisabled"):
            message = f"access denied to {where} at {endpoint} for connection {store!r}: the key may not read it"
        elif code in ("NoSuchKey", "404"):
            message = f"an object under {where} disappeared while it was being copied; start the instance again"
        else:
            message = f"the object store at {endpoint} answered {code} for {where}: {error.get('Message') or exc}"
    elif isinstance(exc, (SSLError, BotoConnectionError, HTTPClientError)):
        # One sentence for refused, timed out, TLS and non-S3 answers alike: anything more detailed
        # tells a tenant which ports of which hosts answer (a port scanner).
        message = (
            f"{endpoints.unreachable(endpoint)} (connection {store!r}): check the endpoint, that it speaks S3 "
            "and, for a private CA, BERTH_STORAGE_CA_BUNDLE"
        )
    else:
        message = f"reading {where} from {endpoint} failed: {exc}"
    return RuntimeFailure(message, reason="MountFailed")


def _safe_rel(rel: str) -> bool:
    parts = rel.rstrip("/").split("/")
    return bool(rel) and not rel.startswith("/") and all(p not in ("", ".", "..") for p in parts)


def list_prefix(client, bucket: str, prefix: str) -> tuple[list[S3Object], list[str]]:
    """Every object under the prefix, and the keys skipped because they cannot be file names."""
    objects, skipped = [], []
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents") or []:
            rel = item["Key"][len(prefix) :]
            if rel == "":
                continue  # the prefix's own directory marker
            if not _safe_rel(rel):
                skipped.append(item["Key"])
                continue
            objects.append(S3Object(key=item["Key"], rel=rel, etag=item.get("ETag", "").strip('"'), size=int(item["Size"])))
    return objects, skipped


def cache_volume_name(*, endpoint: str, bucket: str, prefix: str, access_key_id: str) -> str:
    """One cache per endpoint, bucket, prefix and key: a second key never reads what only the first may."""
    digest = hashlib.sha256("\0".join((endpoint, bucket, prefix, access_key_id)).encode()).hexdigest()[:20]
    return f"berth-cache-oss-{digest}"


class _Counter:
    def __init__(self):
        self.value = 0
        self._lock = threading.Lock()

    def add(self, n: int) -> None:
        with self._lock:
            self.value += n


@contextmanager
def locked(path: Path, tick: Callable[[], None]):
    """An exclusive flock on `path`: another worker filling the same cache waits (and keeps its lock alive)."""
    with open(path, "a+") as handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                tick()
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _download(client, bucket: str, obj: S3Object, root: Path, counter: _Counter) -> str:
    """One object into root/rel. Returns the ETag served.

    The old file is unlinked first, never overwritten: instances hard-link cache files, and an unlink
    leaves their inode alone. Written in place rather than renamed into place: ext4 flushes a file
    renamed over another at once (auto_da_alloc), which stalled the container start that follows.
    The manifest has no entry for the object until the download completed, so a partial file left by
    a killed worker is never taken for a good one.
    """
    final = root / obj.rel
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.is_file() or final.is_symlink():
        final.unlink()
    response = client.get_object(Bucket=bucket, Key=obj.key)
    with open(final, "wb") as out:
        for chunk in response["Body"].iter_chunks(CHUNK):
            out.write(chunk)
            counter.add(len(chunk))
    os.chmod(final, 0o644)
    return response.get("ETag", "").strip('"')


def _write_manifest(path: Path, manifest: dict) -> None:
    partial = path.with_suffix(".tmp")
    partial.write_text(json.dumps({"objects": manifest}, sort_keys=True))
    os.replace(partial, path)


def sync_into_cache(
    client, *, bucket: str, objects: list[S3Object], cache: Path, threads: int, tick: Callable[[int], None]
) -> SyncResult:
    """Bring the cache directory up to date with `objects`; returns what was downloaded.

    The caller holds the cache's lock. `tick(bytes_so_far)` is called about once a second from this
    thread (the one holding the service's convergence lock), never from the download threads.
    """
    data = cache / OBJECTS
    data.mkdir(parents=True, exist_ok=True)
    manifest_path = cache / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text()).get("objects", {})
    except (OSError, ValueError):
        manifest = {}
    wanted = {o.rel: o for o in objects}
    # Objects gone from the bucket first: a file may have become a directory of the same name.
    for rel in [rel for rel in manifest if rel not in wanted]:
        path = data / rel
        if path.is_file() or path.is_symlink():
            path.unlink()
        manifest.pop(rel)
    todo = []
    for obj in objects:
        if obj.rel.endswith("/"):
            (data / obj.rel).mkdir(parents=True, exist_ok=True)
            manifest[obj.rel] = {"etag": obj.etag, "size": 0}
            continue
        known = manifest.get(obj.rel)
        path = data / obj.rel
        if known and known.get("etag") == obj.etag and path.is_file() and path.stat().st_size == obj.size:
            continue
        todo.append(obj)
    result = SyncResult(objects=len(objects), bytes=sum(o.size for o in objects), downloaded=len(todo),
                        downloaded_bytes=sum(o.size for o in todo))
    if todo:
        # Forget what is about to be replaced before touching it (see _download).
        for obj in todo:
            manifest.pop(obj.rel, None)
        _write_manifest(manifest_path, manifest)
    counter = _Counter()
    # Biggest first, so the long download starts at once and small ones fill the other threads.
    todo.sort(key=lambda o: -o.size)
    try:
        with ThreadPoolExecutor(max_workers=max(1, threads), thread_name_prefix="berth-oss") as pool:
            pending = {pool.submit(_download, client, bucket, obj, data, counter): obj for obj in todo}
            try:
                while pending:
                    done, _ = wait(pending, timeout=1, return_when=FIRST_EXCEPTION)
                    for future in done:
                        obj = pending.pop(future)
                        etag = future.result()  # raises the download's error
                        manifest[obj.rel] = {"etag": etag or obj.etag, "size": obj.size}
                    tick(counter.value)
            except BaseException:
                for future in pending:
                    future.cancel()
                raise
    finally:
        # Keep what completed, even when something failed: the next attempt skips it.
        _write_manifest(manifest_path, manifest)
    return result


def fill_from_cache(*, objects: list[S3Object], cache: Path, target: Path, link: bool,
                    tick: Callable[[int], None]) -> None:
    """The instance's volume gets the cached tree: hard links when `link` (read-only mounts), else copies."""
    data = cache / OBJECTS
    done = 0
    last = time.monotonic()
    for obj in objects:
        destination = target / obj.rel
        if obj.rel.endswith("/"):
            destination.mkdir(parents=True, exist_ok=True)
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        source = data / obj.rel
        if link:
            try:
                os.link(source, destination)
                continue
            except OSError:
                pass  # another filesystem: copy instead
        shutil.copyfile(source, destination)
        os.chmod(destination, 0o644)
        done += obj.size
        if time.monotonic() - last > 1:
            tick(done)
            last = time.monotonic()


def tar_stream(client, *, bucket: str, objects: list[S3Object], tick: Callable[[int], None]) -> Iterator[bytes]:
    """The objects as one tar stream, read from the store as it is sent (no temporary copy)."""
    sent = 0
    last = time.monotonic()
    now = int(time.time())
    for obj in objects:
        info = tarfile.TarInfo(obj.rel.rstrip("/"))
        info.mtime = now
        if obj.rel.endswith("/"):
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            yield info.tobuf(format=tarfile.PAX_FORMAT)
            continue
        info.mode, info.size = 0o644, obj.size
        yield info.tobuf(format=tarfile.PAX_FORMAT)
        response = client.get_object(Bucket=bucket, Key=obj.key)
        written = 0
        for chunk in response["Body"].iter_chunks(CHUNK):
            written += len(chunk)
            if written > obj.size:
                break
            yield chunk
            sent += len(chunk)
            if time.monotonic() - last > 1:
                tick(sent)
                last = time.monotonic()
        if written != obj.size:
            raise RuntimeFailure(f"{obj.key} changed size while it was copied; start the instance again", reason="MountFailed")
        if obj.size % tarfile.BLOCKSIZE:
            yield tarfile.NUL * (tarfile.BLOCKSIZE - obj.size % tarfile.BLOCKSIZE)
    yield tarfile.NUL * (tarfile.BLOCKSIZE * 2)
