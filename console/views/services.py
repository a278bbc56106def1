"""The service list and deleting a service.
"""


from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from console.views.common import domain_errors, paged, status_filter
from console.views.service_rows import service_rows
from deployments import access, selectors
from deployments.actions import services, workspaces
from deployments.choices import ServiceStatus


@login_required
@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    """The current workspace's services; htmx requests get only the table (search, filter, pages)."""
    # The landing page: a new user gets their personal workspace here, once (pages and polls only read it).
    workspace = workspaces.workspace_current_ensure(user=request.user)
    membership = selectors.membership_get(user=request.user, workspace=workspace)
    search = request.GET.get("search", "").strip()
    status = status_filter(request)
    rows = selectors.service_list_for_user(user=request.user, workspace=workspace, search=search, status=status)
    context = {
        **paged(request, rows, search=search, status=status),
        "workspace": workspace,
        "membership": membership,
        "search": search,
        "status": status,
        "statuses": ServiceStatus.choices,
    }
    context["rows"] = service_rows(list(context["page"].object_list))
    template = "deployments/service_list.html"
    # Only the table for htmx's own swaps; a history restore (also an htmx request) needs the whole page.
    partial = request.htmx.target == "service-table"
    return render(request, f"{template}#service-table" if partial else template, context)


@login_required
@require_POST
@domain_errors
def service_delete(request: HttpRequest, name: str) -> HttpResponse:
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    access.check_can_write(user=request.user, workspace=service.workspace)
    if request.POST.get("confirm", "").strip() != service.name:  # as Coolify and Railway: type the name
        messages.error(request, f"Not deleted: type the service name, {service.name}, to confirm.")
        return redirect("service-detail", name=service.name)
    if services.service_delete(actor=request.user, service=service):
        messages.success(request, f"Deleted service {name}.")
    else:
        messages.success(request, f"Deleting service {name}: its instances are being removed first.")
    return redirect("service-list")
