"""Saved registry credentials of a workspace."""

import re

from django.db import IntegrityError, transaction

from deployments.access import check_can_write
from deployments.errors import ConfigInvalid
from deployments.models import RegistryCredential, Workspace

CREDENTIAL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def registry_credential_create(
    *, actor, workspace: Workspace, name: str, registry: str, username: str, password: str
) -> RegistryCredential:
    """Save a registry login in the workspace; the password is stored encrypted."""
    check_can_write(user=actor, workspace=workspace)
    errors = []
    if not CREDENTIAL_NAME.fullmatch(name or ""):
        errors.append(
            {"path": "name", "message": "use 1-63 letters, digits, '_', '-' or '.', starting with a letter or digit"}
        )
    if not registry or "/" in registry or " " in registry:
        errors.append({"path": "registry", "message": "give the registry host, e.g. registry.example.com:5000"})
    if not username:
        errors.append({"path": "username", "message": "a username is required"})
    if not password:
        errors.append({"path": "password", "message": "a password is required"})
    if errors:
        raise ConfigInvalid(errors)
    try:
        with transaction.atomic():
            return RegistryCredential.objects.create(
                workspace=workspace, name=name, registry=registry.strip(), username=username, password=password
            )
    except IntegrityError:
        raise ConfigInvalid([{"path": "name", "message": f"a credential named {name!r} already exists here"}])


def registry_credential_delete(*, actor, credential: RegistryCredential) -> None:
    check_can_write(user=actor, workspace=credential.workspace)
    credential.delete()
