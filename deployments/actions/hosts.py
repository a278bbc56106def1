"""Docker hosts: register, drain, remove (administrators only).
"""


from deployments.access import check_is_staff
from deployments.choices import HostStatus
from deployments.engine import hosts
from deployments.errors import ConfigInvalid, Conflict
from deployments.models import DockerHost


def host_register(
    *, name: str, url: str, address: str, actor=None, labels: dict | None = None, tls: dict | None = None,
    kind: str = "engine",
) -> DockerHost:
    """Add a Docker host, or a Swarm cluster (`kind="swarm"`, `url` = a manager's endpoint), or update its
    URL and address, and read its capacity. Safe to repeat."""
    check_is_staff(actor)
    if not (url.startswith("unix://") or url.startswith("tcp://")):
        raise ConfigInvalid([{"path": "url", "message": "use unix:///path/to/docker.sock or tcp://host:port"}])
    if kind not in ("engine", "swarm"):
        raise ConfigInvalid([{"path": "kind", "message": "kind is engine (one Docker engine) or swarm (a cluster)"}])
    tls = tls or {}
    host, _ = DockerHost.objects.update_or_create(
        name=name,
        defaults={
            "url": url,
            "kind": kind,
            "address": address,
            "labels": labels or {},
            "tls_ca": tls.get("ca", ""),
            "tls_cert": tls.get("cert", ""),
            "tls_key": tls.get("key", ""),
        },
    )
    return hosts.host_refresh(host=host)


def host_drain(*, actor, host: DockerHost, drain: bool = True) -> DockerHost:
    """Stop placing new instances on the host (running ones stay); `drain=False` undoes it."""
    check_is_staff(actor)
    DockerHost.objects.filter(pk=host.pk).update(status=HostStatus.DRAINING if drain else HostStatus.READY)
    host.refresh_from_db()
    return host


def host_remove(*, actor, host: DockerHost) -> None:
    check_is_staff(actor)
    if host.instances.exists():
        raise Conflict(f"host {host.name!r} still runs instances: drain it and wait until they moved or stop them")
    host.delete()
