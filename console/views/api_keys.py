"""Personal API keys: list, create (shown once), delete."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from console.forms import ApiKeyForm
from console.views.common import domain_errors
from deployments import selectors
from deployments.actions import api_keys


def _api_key_page(
    request: HttpRequest, *, form: ApiKeyForm | None = None, new_key: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "keys": selectors.api_key_list_for_user(user=request.user),
        "form": form or ApiKeyForm(),
        "new_key": new_key,
    }
    return render(request, "console/api_keys.html", context, status=status)


@login_required
@require_GET
def api_key_list(request: HttpRequest) -> HttpResponse:
    return _api_key_page(request)


@login_required
@require_POST
def api_key_create(request: HttpRequest) -> HttpResponse:
    """Make a key and show it in this response only: it is stored hashed and never shown again."""
    form = ApiKeyForm(request.POST)
    if not form.is_valid():
        return _api_key_page(request, form=form, status=400)
    _, plain = api_keys.api_key_create(user=request.user, name=form.cleaned_data["name"])
    response = _api_key_page(request, new_key=plain)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
@domain_errors
def api_key_delete(request: HttpRequest, pk: int) -> HttpResponse:
    api_keys.api_key_delete(user=request.user, key_id=pk)
    messages.success(request, "Deleted the API key; clients using it are refused from now on.")
    return redirect("api-key-list")
