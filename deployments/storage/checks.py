"""Validation of a config's storage that the spec cannot do: it knows neither settings nor the workspace."""

from __future__ import annotations

import posixpath

from django.conf import settings

from deployments.spec.checks import host_path_problem


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

    actions.services.service_config_validate calls this after the spec (Django-free) has passed.
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
            errors.append(
                {"path": f"storage[{i}].berth.object_store", "message": _no_store(berth["object_store"], workspace)}
            )
    return errors


def _no_store(name: str, workspace) -> str:
    return f"no object-store connection named {name!r} in workspace {workspace.name!r}: add it on the workspace page"
