"""An instance's mounts as the API and the console show them (sources never carry credentials)."""

from __future__ import annotations


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
    instances = (
        service.instances.prefetch_related("mounts").select_related("version").order_by("version__number", "ordinal")
    )
    return [
        {
            "instance": i.name,
            "version": i.version.number,
            "status": i.status,
            "mounts": [mount_body(m) for m in i.mounts.all()],
        }
        for i in instances
    ]
