"""The console's 403 page: why, and the user's role in the workspace concerned where it can be told.

404 and 500 use Django's default handlers with templates/404.html and templates/500.html.
"""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from deployments import selectors


def _workspace_role(request: HttpRequest) -> dict:
    """The workspace the refused page belongs to and the user's role there, or {} if it cannot be told."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    kwargs = request.resolver_match.kwargs if request.resolver_match else {}
    if request.path.startswith(("/hosts/", "/dashboard/")):
        return {}  # administrators' pages: a workspace role has nothing to do with the refusal
    try:
        if "slug" in kwargs:
            workspace, membership = selectors.workspace_get_for_user(user=user, slug=kwargs["slug"])
        elif "name" in kwargs and request.path.startswith("/services/"):
            service, membership = selectors.service_get_for_user(user=user, name=kwargs["name"])
            workspace = service.workspace
        else:
            workspace = selectors.workspace_current_for_user(user=user)
            membership = selectors.membership_get(user=user, workspace=workspace)
    except Exception:  # a page about a refusal must not fail itself; the role is a courtesy
        return {}
    if membership is None:
        return {}
    return {"denied_workspace": workspace, "denied_role": membership.get_role_display().lower()}


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler403: the reason the domain gave, the role, and links back."""
    context = {"reason": str(exception), **_workspace_role(request)}
    return render(request, "403.html", context, status=403)
