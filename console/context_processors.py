"""Template context shared by every console page."""

from deployments import selectors
from deployments.services import workspace_current_for_user


def workspace(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    current = workspace_current_for_user(user=user)
    return {
        "current_workspace": current,
        "user_workspaces": selectors.workspace_list_for_user(user=user),
    }
