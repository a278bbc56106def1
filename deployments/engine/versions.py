"""A version's config as the worker reads it, and the settings derived from it."""

from deployments import spec
from deployments.models import ServiceVersion


def version_config(version: ServiceVersion) -> dict:
    """A version's config with secrets in clear (for the worker only)."""
    return spec.join_secrets(version.config, version.secrets)


def grace_period(version: ServiceVersion | None) -> int:
    """Seconds between taking an instance of `version` out of traffic and killing it (EAS default 30)."""
    config = version.config if version is not None else {}
    return int(((config.get("metadata") or {}).get("eas") or {}).get("termination_grace_period", 30))
