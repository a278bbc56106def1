"""Pools: where a service runs (`metadata.resource`: a host or a Swarm cluster; else the workspace's default)."""

from deployments.access import check_is_staff
from deployments.engine.cluster import SWARM, cluster_refusals, pool_of
from deployments.errors import ConfigInvalid
from deployments.models import DockerHost, Workspace


def pool_checks(config: dict, *, workspace: Workspace) -> list[dict]:
    """Validation errors for the config's pool: an unknown name, or what a cluster cannot run."""
    name = (config.get("metadata") or {}).get("resource")
    if name and not DockerHost.objects.filter(name=name).exists():
        known = ", ".join(DockerHost.objects.values_list("name", flat=True)) or "none registered"
        return [
            {
                "path": "metadata.resource",
                "message": f"no host or cluster named {name!r} (known: {known}); leave it out to use the "
                "workspace's default pool",
            }
        ]
    pool = pool_of(workspace=workspace, config=config)
    if pool is not None and pool.kind == SWARM:
        return [
            {**problem, "message": f"on cluster {pool.name}: {problem['message']}"}
            for problem in cluster_refusals(config)
        ]
    return []


def workspace_default_pool_set(*, actor, workspace: Workspace, pool: DockerHost | None) -> Workspace:
    """Make `pool` (a host or a cluster; None: any single host) where the workspace's services run by default."""
    check_is_staff(actor)
    if pool is not None and not DockerHost.objects.filter(pk=pool.pk).exists():
        raise ConfigInvalid([{"path": "default_pool", "message": "no such host or cluster"}])
    Workspace.objects.filter(pk=workspace.pk).update(default_pool=pool)
    workspace.refresh_from_db()
    return workspace
