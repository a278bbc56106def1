"""Storage pages: a workspace's object-store connections, and the mounts of a service's instances.

Both pages also answer htmx requests with their fragment, so the workspace page
(templates/console/_object_stores.html) and the service page can embed them.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from console.forms import ObjectStoreForm
from console.views.common import add_errors, domain_errors
from deployments import selectors
from deployments.choices import SERVICE_ACTIVE
from deployments.actions import object_stores
from deployments.errors import ConfigInvalid
from deployments.storage import reads as storage_reads


def _stores_page(request: HttpRequest, slug: str, *, status: int = 200, form=None, check=None) -> HttpResponse:
    workspace, membership = selectors.workspace_get_for_user(user=request.user, slug=slug)
    context = {
        "workspace": workspace,
        "membership": membership,
        "stores": selectors.object_store_list(workspace=workspace),
        "form": form or ObjectStoreForm(),
        "check": check,
    }
    template = "storage/object_stores.html#stores" if request.htmx else "storage/object_stores.html"
    return render(request, template, context, status=status)


@login_required
@require_GET
@domain_errors
def object_store_list(request: HttpRequest, slug: str) -> HttpResponse:
    return _stores_page(request, slug)


@login_required
@require_POST
@domain_errors
def object_store_create(request: HttpRequest, slug: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    form = ObjectStoreForm(request.POST)
    if form.is_valid():
        try:
            store = object_stores.object_store_create(actor=request.user, workspace=workspace, **form.cleaned_data)
        except ConfigInvalid as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"Saved object-store connection {store.name}.")
            return redirect("object-store-list", slug=slug)
    return _stores_page(request, slug, status=400, form=form)


@login_required
@require_POST
@domain_errors
def object_store_default(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    store = selectors.object_store_get(workspace=workspace, name=name)
    object_stores.object_store_update(actor=request.user, store=store, is_default=True)
    messages.success(request, f"oss mounts without berth.object_store now use {name}.")
    return redirect("object-store-list", slug=slug)


@login_required
@require_POST
@domain_errors
def object_store_delete(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    store = selectors.object_store_get(workspace=workspace, name=name)
    object_stores.object_store_delete(actor=request.user, store=store)
    messages.success(request, f"Deleted object-store connection {name}.")
    return redirect("object-store-list", slug=slug)


@login_required
@require_POST
@domain_errors
def object_store_check(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    store = selectors.object_store_get(workspace=workspace, name=name)
    result = object_stores.object_store_check(actor=request.user, store=store, bucket=request.POST.get("bucket", "").strip())
    return _stores_page(request, slug, check={"name": name, **result})


@login_required
@require_GET
@domain_errors
def service_mounts(request: HttpRequest, name: str) -> HttpResponse:
    """Each instance's mounts: type, source (no credentials), path, read-only, volume and figures."""
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    # While the service changes the panel re-reads itself (instances come and go with their volumes);
    # 286 tells htmx to stop once the status is one that stays.
    polling = service.status in SERVICE_ACTIVE
    context = {"service": service, "instances": storage_reads.service_mounts(service=service), "polling": polling}
    template = "storage/service_mounts.html#mounts" if request.htmx else "storage/service_mounts.html"
    return render(request, template, context, status=200 if polling or not request.htmx else 286)
