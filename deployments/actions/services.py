"""Service configs: create, modify (replace or patch), delete, rotate the token.
"""

import copy
import secrets as pysecrets

from django.db import IntegrityError, transaction

from deployments import spec
from deployments.access import check_can_write
from deployments.actions import lifecycle, scaler_settings
from deployments.errors import ConfigInvalid
from deployments.events import event_record
from deployments.models import Service, ServiceVersion, Workspace
from deployments.spec.patch import PatchError, apply_patch
from deployments.storage import checks as storage_checks

# Names that are routes under /api/v1/services/ (a service of that name could not be addressed).
RESERVED_NAMES = frozenset({"validate"})


def service_config_validate(*, config: object, workspace: Workspace, service: Service | None = None) -> spec.SpecResult:
    """Validate a config as create and modify do: the spec, then the rules the spec cannot know
    (reserved names, saved registry credentials, object-store connections, host-path roots).

    Every door (the API's validate, the form's preview, `berth validate`, create, modify) calls this,
    so a config that validates is a config that saves. Without `service` the config is for a new
    service, whose name must be free. Raises ConfigInvalid; writes nothing.
    """
    result = spec.validate_config(config)
    if not result.ok:
        raise ConfigInvalid(result.errors, result.warnings)
    if result.config["name"] in RESERVED_NAMES:
        raise ConfigInvalid(
            [{"path": "name", "message": f"{result.config['name']!r} is reserved by Berth's API; choose another name"}],
            result.warnings,
        )
    if service is None and Service.objects.filter(name=result.config["name"]).exists():
        raise ConfigInvalid(
            [{"path": "name", "message": f"the name {result.config['name']!r} is taken; choose another"}],
            result.warnings,
        )
    credential = (result.config.get("berth") or {}).get("registry_credential")
    if credential and not workspace.registry_credentials.filter(name=credential).exists():
        raise ConfigInvalid(
            [
                {
                    "path": "berth.registry_credential",
                    "message": f"no registry credential named {credential!r} in workspace {workspace.name!r}",
                }
            ],
            result.warnings,
        )
    problems = storage_checks.config_problems(result.config, workspace=workspace)
    if problems:
        raise ConfigInvalid(problems, result.warnings)
    return result


def _without_instance_and_token(config: dict) -> dict:
    """The part of a config that defines a version: everything but the instance count, the token and
    the scalers (kept in ServiceScaler: changing them never rolls containers)."""
    trimmed = copy.deepcopy(config)
    trimmed.pop("token", None)
    trimmed.pop("autoscaler", None)
    trimmed.pop("cronscaler", None)
    trimmed.get("metadata", {}).pop("instance", None)
    return trimmed


def _new_version(*, service: Service, config: dict, actor) -> ServiceVersion:
    public, secret_values = spec.split_secrets(_without_instance_and_token(config))
    service.latest_version_number += 1
    version = ServiceVersion.objects.create(
        service=service,
        number=service.latest_version_number,
        config=public,
        secrets=secret_values,
        created_by=actor,
    )
    service.current_version = version
    return version


def service_create(*, actor, workspace: Workspace, config: object, deploy: bool = True) -> tuple[Service, list[dict]]:
    """Validate `config`, save it as a new service with version 1 and (unless `deploy` is
    False: a draft) start deploying it after commit, as `eascmd create` does.

    Returns the service and the spec's warnings. Raises ConfigInvalid (errors with
    paths) or Forbidden. A name taken anywhere is refused without saying where.
    """
    check_can_write(user=actor, workspace=workspace)
    result = service_config_validate(config=config, workspace=workspace)
    canonical = result.config
    try:
        with transaction.atomic():
            service = Service.objects.create(
                name=canonical["name"],
                workspace=workspace,
                instance=canonical["metadata"]["instance"],
                token=canonical.get("token") or pysecrets.token_urlsafe(32),
                created_by=actor,
            )
            _new_version(service=service, config=canonical, actor=actor)
            service.save(update_fields=["latest_version_number", "current_version"])
            scaler_settings.scaler_settings_save(service=service, config=canonical)
            if deploy:
                lifecycle.service_deploy_on_commit(service=service, actor=actor)
    except IntegrityError:
        raise ConfigInvalid(
            [{"path": "name", "message": f"the name {canonical['name']!r} is taken; choose another"}],
            result.warnings,
        )
    return service, result.warnings


def service_config(*, service: Service, reveal_secrets: bool = False) -> dict:
    """The service's current config in canonical form, secrets masked unless `reveal_secrets`."""
    version = service.current_version
    config = spec.join_secrets(version.config, version.secrets)
    config.setdefault("metadata", {})["instance"] = service.instance
    scaler_settings.scaler_settings_into(config=config, service=service)
    # Stored configs were valid when saved; validating again puts `instance` in its canonical place.
    canonical = spec.validate_config(config).config or config
    return canonical if reveal_secrets else spec.mask_secrets(canonical)


def service_update(*, actor, service: Service, config: object) -> tuple[Service, bool, list[dict]]:
    """Replace the service's config (PUT semantics).

    Masked secrets sent back unchanged keep the stored values. A change to anything
    but `metadata.instance` and `token` makes a new version; returns
    (service, new_version_created, warnings). The name cannot change.
    """
    check_can_write(user=actor, workspace=service.workspace)
    stored = service.current_version.secrets if service.current_version else {}
    if isinstance(config, dict):
        config = spec.join_secrets(config, stored)
    result = service_config_validate(config=config, workspace=service.workspace, service=service)
    canonical = result.config
    if canonical["name"] != service.name:
        raise ConfigInvalid(
            [{"path": "name", "message": f"a service cannot be renamed; keep {service.name!r}"}], result.warnings
        )
    with transaction.atomic():
        locked = Service.objects.select_for_update().get(pk=service.pk)
        current = service_config(service=locked, reveal_secrets=True)
        changed = _without_instance_and_token(canonical) != _without_instance_and_token(current)
        fields = ["instance", "updated_at"]
        scaled = locked.instance != canonical["metadata"]["instance"]
        locked.instance = canonical["metadata"]["instance"]
        if canonical.get("token") and canonical["token"] != locked.token:
            locked.token = canonical["token"]
            fields.append("token")
        if changed:
            _new_version(service=locked, config=canonical, actor=actor)
            fields += ["latest_version_number", "current_version"]
        locked.save(update_fields=fields)
        scaler_settings.scaler_settings_save(service=locked, config=canonical)
        if changed or scaled:
            lifecycle.service_changed_on_commit(service=locked, actor=actor, new_version=changed)
    return locked, changed, result.warnings


def service_patch(*, actor, service: Service, patch: object) -> tuple[Service, bool, list[dict]]:
    """Apply a JSON merge patch (RFC 7386) and/or dotted keys (`metadata.instance`, `containers[0].image`)."""
    if not isinstance(patch, dict):
        raise ConfigInvalid([{"path": "", "message": "a patch must be a JSON object"}])
    current = service_config(service=service)
    try:
        merged = apply_patch(current, patch)
    except PatchError as exc:
        raise ConfigInvalid([{"path": exc.path, "message": str(exc)}])
    return service_update(actor=actor, service=service, config=merged)


@transaction.atomic
def service_delete(*, actor, service: Service) -> bool:
    """Delete the service with its versions and token, after the engine removed every container and
    volume it made. Returns True when it is gone already (nothing was running)."""
    check_can_write(user=actor, workspace=service.workspace)
    return lifecycle.service_delete_on_commit(service=service, actor=actor)


def service_token_rotate(*, actor, service: Service) -> str:
    """Give the service a new random token; the old one stops working at once. Returns the new one."""
    check_can_write(user=actor, workspace=service.workspace)
    token = pysecrets.token_urlsafe(32)
    Service.objects.filter(pk=service.pk).update(token=token)
    service.token = token
    event_record(service=service, reason="TokenRotated", message="the access token was rotated", actor=actor.get_username())
    return token
