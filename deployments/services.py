"""Domain actions: the only code that writes Berth's tables.

Each function is keyword-only, owns its transaction, checks the actor's role and
raises domain errors (deployments.errors) a person can act on.
"""

import copy
import hashlib
import re
import secrets as pysecrets

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from deployments import engine, lifecycle, spec, storage
from deployments.choices import WRITE_ROLES, Role
from deployments.errors import ConfigInvalid, Conflict, Forbidden, NotFound
from deployments.models import ApiKey, Membership, Profile, RegistryCredential, Service, ServiceVersion, Workspace
from deployments.patch import PatchError, apply_patch

API_KEY_PREFIX = "berth_"
# Names that are routes under /api/v1/services/ (a service of that name could not be addressed).
RESERVED_NAMES = frozenset({"validate"})
CREDENTIAL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


# --- access checks ---------------------------------------------------------------------------


def check_can_write(*, user, workspace: Workspace) -> Membership:
    """The user's membership if they may change things in `workspace`; raises otherwise."""
    membership = Membership.objects.filter(user=user, workspace=workspace).first()
    if membership is None:
        raise NotFound("not found")
    if membership.role not in WRITE_ROLES:
        raise Forbidden(f"your role in workspace {workspace.name!r} is {membership.role}: it can only read")
    return membership


def check_is_owner(*, user, workspace: Workspace) -> Membership:
    membership = check_can_write(user=user, workspace=workspace)
    if membership.role != Role.OWNER:
        raise Forbidden(f"only owners of workspace {workspace.name!r} can do this")
    return membership


# --- workspaces ------------------------------------------------------------------------------


def _unique_slug(name: str) -> str:
    base = slugify(name)[:90] or "workspace"
    slug, n = base, 2
    while Workspace.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


@transaction.atomic
def workspace_create(*, name: str, owner) -> Workspace:
    """Create a workspace with `owner` as its owner and make it their current one."""
    name = name.strip()
    if not name:
        raise ConfigInvalid([{"path": "name", "message": "a workspace needs a name"}])
    workspace = Workspace.objects.create(name=name, slug=_unique_slug(name))
    Membership.objects.create(workspace=workspace, user=owner, role=Role.OWNER)
    Profile.objects.update_or_create(user=owner, defaults={"current_workspace": workspace})
    return workspace


def workspace_current_for_user(*, user) -> Workspace:
    """The workspace new services go to; creates a personal one for a user with none. Safe to repeat."""
    profile = Profile.objects.select_related("current_workspace").filter(user=user).first()
    if profile and profile.current_workspace_id:
        if Membership.objects.filter(user=user, workspace_id=profile.current_workspace_id).exists():
            return profile.current_workspace
    membership = Membership.objects.select_related("workspace").filter(user=user).order_by("id").first()
    if membership is None:
        return workspace_create(name=user.get_username(), owner=user)
    Profile.objects.update_or_create(user=user, defaults={"current_workspace": membership.workspace})
    return membership.workspace


def workspace_switch(*, user, workspace: Workspace) -> None:
    if not Membership.objects.filter(user=user, workspace=workspace).exists():
        raise NotFound("not found")
    Profile.objects.update_or_create(user=user, defaults={"current_workspace": workspace})


@transaction.atomic
def membership_set(*, actor, workspace: Workspace, username: str, role: str) -> Membership:
    """Add `username` to the workspace or change their role. Owners only; keeps at least one owner."""
    check_is_owner(user=actor, workspace=workspace)
    if role not in Role.values:
        raise ConfigInvalid([{"path": "role", "message": f"role must be one of {', '.join(Role.values)}"}])
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise ConfigInvalid([{"path": "username", "message": f"there is no user {username!r}"}])
    membership, created = Membership.objects.select_for_update().get_or_create(
        workspace=workspace, user=user, defaults={"role": role}
    )
    if not created and membership.role != role:
        if membership.role == Role.OWNER and _owner_count(workspace) == 1:
            raise Conflict("a workspace needs at least one owner; make someone else owner first")
        membership.role = role
        membership.save(update_fields=["role"])
    return membership


@transaction.atomic
def membership_remove(*, actor, workspace: Workspace, username: str) -> None:
    check_is_owner(user=actor, workspace=workspace)
    membership = Membership.objects.filter(workspace=workspace, user__username=username).first()
    if membership is None:
        raise NotFound(f"{username!r} is not a member")
    if membership.role == Role.OWNER and _owner_count(workspace) == 1:
        raise Conflict("a workspace needs at least one owner; make someone else owner first")
    membership.delete()


def _owner_count(workspace: Workspace) -> int:
    return Membership.objects.filter(workspace=workspace, role=Role.OWNER).count()


# --- registry credentials --------------------------------------------------------------------


def registry_credential_create(
    *, actor, workspace: Workspace, name: str, registry: str, username: str, password: str
) -> RegistryCredential:
    """Save a registry login in the workspace; the password is stored encrypted."""
    check_can_write(user=actor, workspace=workspace)
    errors = []
    if not CREDENTIAL_NAME.fullmatch(name or ""):
        errors.append({"path": "name", "message": "use 1-63 letters, digits, '_', '-' or '.', starting with a letter or digit"})
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


# --- services --------------------------------------------------------------------------------


def _validated(raw: object, *, workspace: Workspace) -> spec.SpecResult:
    """Validate a config and the workspace-level rules the spec cannot know (saved credentials)."""
    result = spec.validate_config(raw)
    if not result.ok:
        raise ConfigInvalid(result.errors, result.warnings)
    if result.config["name"] in RESERVED_NAMES:
        raise ConfigInvalid(
            [{"path": "name", "message": f"{result.config['name']!r} is reserved by Berth's API; choose another name"}],
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
    problems = storage.config_problems(result.config, workspace=workspace)
    if problems:
        raise ConfigInvalid(problems, result.warnings)
    return result


def _without_instance_and_token(config: dict) -> dict:
    """The part of a config that defines a version: everything but the instance count and the token."""
    trimmed = copy.deepcopy(config)
    trimmed.pop("token", None)
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
    result = _validated(config, workspace=workspace)
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
    result = _validated(config, workspace=service.workspace)
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
    engine.event_record(service=service, reason="TokenRotated", message="the access token was rotated", actor=actor.get_username())
    return token


# --- API keys --------------------------------------------------------------------------------


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, user, name: str) -> tuple[ApiKey, str]:
    """Make an API key for `user`. Returns the row and the key in clear: shown once, stored hashed."""
    plain = API_KEY_PREFIX + pysecrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        user=user, name=(name or "API key").strip()[:100], prefix=plain[: len(API_KEY_PREFIX) + 6],
        key_hash=api_key_hash(plain),
    )
    return key, plain


def api_key_delete(*, user, key_id: int) -> None:
    deleted, _ = ApiKey.objects.filter(user=user, pk=key_id).delete()
    if not deleted:
        raise NotFound("no such API key")


def api_key_authenticate(*, plain: str):
    """The user owning `plain`, or None. Records when the key was last used (at most once a minute)."""
    key = ApiKey.objects.select_related("user").filter(key_hash=api_key_hash(plain)).first()
    if key is None or not key.user.is_active:
        return None
    now = timezone.now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key.user
