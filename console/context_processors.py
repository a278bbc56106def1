"""Template context shared by every console page."""

from deployments import selectors


def workspace(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {
        # A read: this runs for every page and every htmx poll, so it must never write.
        "current_workspace": selectors.workspace_current_for_user(user=user),
        "user_workspaces": selectors.workspace_list_for_user(user=user),
    }
