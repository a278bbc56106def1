"""Access checks for writes: each raises NotFound (outsiders learn nothing) or Forbidden with the reason."""

from deployments.choices import WRITE_ROLES, Role
from deployments.errors import Forbidden, NotFound
from deployments.models import Membership, Workspace


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


def check_is_staff(actor) -> None:
    if actor is not None and not actor.is_staff:
        raise Forbidden("only administrators manage Docker hosts")
