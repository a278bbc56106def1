"""Docker hosts as the engine sees them: a runtime per host, capacity and heartbeat, placement.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db.models import Q, Sum
from django.utils import timezone

from deployments.choices import (
    HostStatus,
    InstanceStatus,
)
from deployments.events import event_record
from deployments.models import DockerHost, Service
from deployments.runtime import Runtime, RuntimeFailure
from deployments.runtime.docker import DockerRuntime
from deployments.runtime.swarm import SwarmRuntime

# Set only by `runtimes_from` (unit tests of the engine's rules against an in-memory runtime).
_runtime_factory: Callable[[DockerHost], Runtime] | None = None


@contextmanager
def runtimes_from(factory: Callable[[DockerHost], Runtime]) -> Iterator[None]:
    """Every host's runtime comes from `factory` inside the block: the engine's seam for tests."""
    global _runtime_factory
    previous, _runtime_factory = _runtime_factory, factory
    try:
        yield
    finally:
        _runtime_factory = previous


def host_runtime(host: DockerHost) -> Runtime:
    """The runtime for a host; TLS client material is written to 0600 files the SDK can read."""
    if _runtime_factory is not None:
        return _runtime_factory(host)
    runtime_class = SwarmRuntime if host.kind == "swarm" else DockerRuntime
    if not host.tls_cert:
        return runtime_class(host.url)
    directory = Path(settings.BASE_DIR) / "var" / "tls" / host.name
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = {}
    for field in ("ca", "cert", "key"):
        pem = getattr(host, f"tls_{field}")
        if pem:
            path = directory / f"{field}.pem"
            path.touch(mode=0o600, exist_ok=True)
            path.write_text(pem)
            paths[f"{field}_path"] = str(path)
    return runtime_class(host.url, tls=paths)


def host_refresh(*, host: DockerHost) -> DockerHost:
    """Read capacity from the engine and record a heartbeat (or the reason it is unreachable)."""
    try:
        info = host_runtime(host).info()
    except RuntimeFailure as exc:
        became = DockerHost.objects.filter(pk=host.pk, status=HostStatus.READY).update(
            status=HostStatus.UNREACHABLE, message=str(exc)
        )
        DockerHost.objects.filter(pk=host.pk, status=HostStatus.UNREACHABLE).update(message=str(exc))
        if became:
            # Said once, on every service with instances there (the alerts read these events).
            for service in Service.objects.filter(instances__host=host).distinct():
                event_record(
                    service=service, reason="HostUnreachable", warning=True,
                    message=f"host {host.name} does not answer: {exc}",
                )
        host.refresh_from_db()
        return host
    updates = {"cpus": info.cpus, "memory_mb": info.memory_bytes // (1024 * 1024), "last_heartbeat": timezone.now(), "message": ""}
    DockerHost.objects.filter(pk=host.pk).update(**updates)
    DockerHost.objects.filter(pk=host.pk, status=HostStatus.UNREACHABLE).update(status=HostStatus.READY)
    host.refresh_from_db()
    return host


def host_pick(*, cpu: float, memory_mb: int) -> DockerHost | None:
    """A ready host with room for one more instance (most free memory first), or None."""
    # A Swarm cluster places its own tasks (engine/cluster.py): never a place for a single container.
    hosts = DockerHost.objects.filter(status=HostStatus.READY).exclude(kind="swarm").annotate(
        used_cpu=Sum("instances__cpu", filter=~Q(instances__status=InstanceStatus.TERMINATING), default=0),
        used_mem=Sum("instances__memory_mb", filter=~Q(instances__status=InstanceStatus.TERMINATING), default=0),
    )
    fitting = [
        h for h in hosts if h.cpus - h.used_cpu >= cpu - 1e-9 and h.memory_mb - h.used_mem >= memory_mb
    ]
    fitting.sort(key=lambda h: (-(h.memory_mb - h.used_mem), h.name))
    return fitting[0] if fitting else None
