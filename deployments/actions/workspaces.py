"""Workspaces and their members."""

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils.text import slugify

from deployments import selectors
from deployments.access import check_is_owner
from deployments.choices import Role
from deployments.errors import ConfigInvalid, Conflict, NotFound
from deployments.models import Membership, Profile, Workspace


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


def workspace_current_ensure(*, user) -> Workspace:
    """The workspace new services go to, creating a personal one for a user with none. Safe to repeat.

    For the paths that are about to write into it (create, validate, the editor); pages that only
    show it read `selectors.workspace_current_for_user`, which never writes.
    """
    current = selectors.workspace_current_for_user(user=user)
    if current is not None:
        return current
    return workspace_create(name=user.get_username(), owner=user)


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
