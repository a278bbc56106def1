"""Small template helpers for the console's wording: mount-type labels, the allowed host-path roots."""

from django import template
from django.conf import settings

register = template.Library()

# What the service form's "Mount type" menu shows for each storage type key.
MOUNT_LABELS = {
    "": "Choose…",
    "oss": "Object storage (OSS, S3)",
    "nfs": "NFS share",
    "git": "Git repository",
    "image": "Files from another image",
    "empty_dir": "Scratch directory (empty at start)",
    "host_path": "Host directory",
    "dataset": "Dataset (kept as imported)",
    "code": "Code (kept as imported)",
}


@register.filter
def mount_label(storage_type: str) -> str:
    """A person's name for a storage type key; unknown keys show as they are."""
    return MOUNT_LABELS.get(storage_type, storage_type)


@register.simple_tag
def host_path_roots() -> list[str]:
    """The host directories an administrator allowed (BERTH_HOST_PATH_ROOTS); empty: host paths are off."""
    return list(getattr(settings, "BERTH_HOST_PATH_ROOTS", []) or [])


@register.inclusion_tag("deployments/_errors.html", takes_context=True)
def field_errors(context, name: str, row=None) -> dict:
    """The error list of one field of the service form: `{% field_errors "image" %}`, or of one field of a
    repeated row: `{% field_errors "git_repo" row=row %}` (its slot is the row's prefix + the name)."""
    source = row if row is not None else context["form"]
    return {
        "slot": (row.prefix if row is not None else "") + name,
        "messages": (source.errors or {}).get(name, []),
        "oob": context.get("oob", False),
    }
