"""What every mount kind shares: the instance being prepared, its volumes' labels, progress, trust."""

from __future__ import annotations

import hashlib
import logging
import os
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from deployments.events import event_record
from deployments.locks import lock_keepalive
from deployments.runtime import LABEL_INSTALLATION, LABEL_INSTANCE, LABEL_ROLE, LABEL_SERVICE, RuntimeFailure

log = logging.getLogger(__name__)


LABEL_INSTANCE_ID = "berth.instance-id"


LABEL_MOUNT = "berth.mount"  # the mount path, for people reading `docker volume inspect`


LABEL_KEEP = "berth.keep"  # volumes that outlive services (the oss caches)


LABEL_CACHE = "berth.cache"


REASON = "MountFailed"


@dataclass
class MountContext:
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
        event_record(service=self.service, reason=reason, message=message, warning=warning, instance=self.instance_name)

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
            raise RuntimeFailure(
                f"volume {name} is still used by a container; it cannot be prepared again", reason=REASON
            )
        return self.runtime.volume_create(name, labels=labels, driver_opts=driver_opts)

    def local_path(self, volume) -> Path | None:
        """The volume's directory when this process can write it (a local socket, and a worker that sees
        and may write Docker's volumes directory), else None: then everything goes through the Docker API."""
        mountpoint = volume.mountpoint
        if (
            self.runtime.shares_filesystem()
            and mountpoint
            and os.path.isdir(mountpoint)
            and os.access(mountpoint, os.W_OK)
        ):
            return Path(mountpoint)
        return None

    def record(self, position: int, entry: dict, kind: str, source: str, read_only: bool, volume: str = "", **detail):
        self.records.append(
            dict(
                position=position,
                mount_path=entry["mount_path"],
                kind=kind,
                source=source,
                read_only=read_only,
                volume=volume,
                detail=detail,
            )
        )


class Ticker:
    """Called often during long work: keeps the service's convergence lock and reports progress as events."""

    def __init__(self, ctx: MountContext, label: str, total: int):
        self.ctx, self.label, self.total = ctx, label, total
        self.last_keepalive = self.last_event = time.monotonic()

    def __call__(self, done: int | None = None) -> None:
        now = time.monotonic()
        if now - self.last_keepalive >= 1:
            lock_keepalive()
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


def volume_mount(volume: str, target: str, read_only: bool) -> dict:
    # no_copy: like Kubernetes, the image's files at the mount path are hidden, never copied in.
    return {"type": "volume", "source": volume, "target": target, "read_only": read_only, "no_copy": True}


def ca_bundle() -> str | None:
    """The CA file git and the S3 client verify with: the system's plus BERTH_STORAGE_CA_BUNDLE, or None
    (their defaults) when no extra bundle is set."""
    extra = settings.BERTH_STORAGE_CA_BUNDLE
    if not extra:
        return None
    try:
        extra_pem = Path(extra).read_bytes()
    except OSError as exc:
        raise RuntimeFailure(f"BERTH_STORAGE_CA_BUNDLE={extra} cannot be read: {exc}", reason=REASON) from exc
    candidates = [
        os.environ.get("SSL_CERT_FILE"),
        ssl.get_default_verify_paths().cafile,
        "/etc/ssl/certs/ca-certificates.crt",
    ]
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
