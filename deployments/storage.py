"""Storage mounts (`storage[]` of a config): volumes prepared before an instance starts.

`prepare_mounts` is called by the engine for every new instance, after placement and
before any container starts; the mounts it returns are given to every container of the
instance (EAS shares mounts across an instance's containers). It raises RuntimeError_
with a reason a person can act on when a mount cannot be prepared.
"""

from deployments.runtime import RuntimeError_


def prepare_mounts(*, runtime, host, service, version, config: dict, instance_name: str) -> list[dict]:
    """Docker mount dicts (target, source, type, read_only, ...) for one instance."""
    storage = config.get("storage") or []
    if not storage:
        return []
    kinds = sorted({key for entry in storage for key in entry if key not in ("mount_path", "properties")})
    raise RuntimeError_(
        f"storage mounts ({', '.join(kinds)}) are accepted but not mounted yet; remove storage[] to deploy",
        reason="StorageUnsupported",
    )
