"""What a service is really running while it changes: instances counted per version, the version that
serves, and plain phrases for its status and latest deployment (issue 12 #2, #15).

EAS's one-line counts ("Running: 0") only count the target version, so during a rolling update they
claim nothing runs while the old instances serve; these figures keep old and new apart.
"""

from deployments.choices import DeploymentKind, DeploymentStatus, ServiceStatus
from deployments.models import Deployment, Instance, Service

# Statuses that keep no instances: nothing to count, nothing pending.
AT_REST = (ServiceStatus.STOPPED, ServiceStatus.STOPPING, ServiceStatus.DELETING, ServiceStatus.NOT_DEPLOYED)


def version_counts(service: Service) -> list[dict]:
    """[{version, ready, pending, target}] newest version first: every version that has instances, plus
    the target (current) version while it still lacks any of its desired instances (counted pending)."""
    by_version: dict[int, dict] = {}
    for number, ready in Instance.objects.filter(service=service).values_list("version__number", "ready"):
        row = by_version.setdefault(number, {"version": number, "ready": 0, "pending": 0, "target": False})
        row["ready" if ready else "pending"] += 1
    target = service.current_version.number if service.current_version_id else None
    if target is not None and service.status not in AT_REST:
        row = by_version.setdefault(target, {"version": target, "ready": 0, "pending": 0, "target": True})
        row["target"] = True
        row["pending"] = max(row["pending"], service.instance - row["ready"])
    return sorted(by_version.values(), key=lambda row: -row["version"])


def serving_version(service: Service, counts: list[dict] | None = None) -> int | None:
    """The version that answers requests: the target once it has every desired instance ready (or no
    other version has any ready), else the older version with the most ready instances."""
    counts = version_counts(service) if counts is None else counts
    target = service.current_version.number if service.current_version_id else None
    ready = {row["version"]: row["ready"] for row in counts}
    others = {number: count for number, count in ready.items() if number != target and count}
    if target is None or not others or ready.get(target, 0) >= service.instance:
        return target
    return max(others, key=lambda number: (others[number], number))


def counts_line(counts: list[dict]) -> str:
    """`v1 ready 2 · v2 pending 2`: each version with its ready and pending instances; "" when none."""
    parts = []
    for row in sorted(counts, key=lambda row: row["version"]):
        figures = [f"{label} {row[label]}" for label in ("ready", "pending") if row[label]]
        parts.append(f"v{row['version']} " + (", ".join(figures) or "ready 0"))
    return " · ".join(parts)


def deployment_phrase(deployment: Deployment, serving: int | None = None) -> str:
    """What a deployment did in plain words: "Deploy v2", "Stopped v3", "Roll back to v1", "Restart v2".

    "Roll back" is only said of an older version than the one serving; a rollback to a newer one is a deploy.
    """
    number = deployment.version.number if deployment.version_id else None
    version = f" v{number}" if number else ""
    done = deployment.status == DeploymentStatus.SUCCEEDED
    kind = deployment.kind
    if kind == DeploymentKind.ROLLBACK and number and serving and number < serving:
        return f"Roll back to v{number}" if not done else f"Rolled back to v{number}"
    if kind in (DeploymentKind.CREATE, DeploymentKind.UPDATE, DeploymentKind.ROLLBACK):
        return f"Deployed{version}" if done else f"Deploy{version}"
    words = {
        DeploymentKind.STOP: ("Stop", "Stopped"),
        DeploymentKind.START: ("Start", "Started"),
        DeploymentKind.RESTART: ("Restart", "Restarted"),
        DeploymentKind.SCALE: ("Scale", "Scaled"),
        DeploymentKind.DELETE: ("Delete", "Deleted"),
    }
    doing, did = words.get(kind, (deployment.get_kind_display(), deployment.get_kind_display()))
    return f"{did if done else doing}{version}"


def status_label(service: Service, deployment: Deployment | None) -> str:
    """The badge's word: the service status, except that a restart or stop still in progress says so
    (the status stays Running until the first instance goes)."""
    if deployment is not None and deployment.status in (DeploymentStatus.QUEUED, DeploymentStatus.RUNNING):
        if deployment.kind == DeploymentKind.RESTART and service.status == ServiceStatus.RUNNING:
            return "Restarting"
        if deployment.kind == DeploymentKind.STOP and service.status != ServiceStatus.STOPPED:
            return "Stopping"
    return service.get_status_display()
