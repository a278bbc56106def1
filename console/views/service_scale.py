"""The service page's Scale stepper: set the number of instances (as the API's /scale)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from console.views.common import domain_errors
from deployments import selectors
from deployments.actions import services
from deployments.errors import ConfigInvalid, Conflict

MAX_STEPPER = 100


@login_required
@require_POST
@domain_errors
def service_scale(request: HttpRequest, name: str) -> HttpResponse:
    """Patch `metadata.instance` to the posted `instance` plus `step` (-1, 0, 1); a refusal (quota, bad number) becomes a message."""
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    try:
        wanted = int(request.POST.get("instance", "")) + int(request.POST.get("step") or 0)
    except ValueError:
        messages.error(request, "Not scaled: the number of instances must be a whole number.")
        return redirect("service-detail", name=service.name)
    if not 0 <= wanted <= MAX_STEPPER:
        messages.error(request, f"Not scaled: choose between 0 and {MAX_STEPPER} instances.")
        return redirect("service-detail", name=service.name)
    try:
        services.service_patch(actor=request.user, service=service, patch={"metadata.instance": wanted})
    except ConfigInvalid as exc:
        messages.error(request, f"Not scaled: {exc}")
    except Conflict as exc:
        messages.error(request, f"Not scaled: {exc}")
    else:
        messages.success(request, f"Scaling {service.name} to {wanted} instance{'s' if wanted != 1 else ''}.")
    return redirect("service-detail", name=service.name)
