"""Workspaces: the workspace page, members and saved registry credentials."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from console.forms import MemberForm, MemberRoleForm, RegistryCredentialForm, WorkspaceForm
from console.views.common import add_errors, domain_errors, sentence
from deployments import access, selectors
from deployments.actions import credentials, quotas, workspaces
from deployments.errors import ConfigInvalid, Conflict


def _workspace_page(request: HttpRequest, slug: str, *, status: int = 200, **forms: Any) -> HttpResponse:
    workspace, membership = selectors.workspace_get_for_user(user=request.user, slug=slug)
    members = list(selectors.membership_list(workspace=workspace))
    context = {
        "workspace": workspace,
        "membership": membership,
        "members": [(m, MemberRoleForm(initial={"role": m.role}, prefix=f"m{m.pk}")) for m in members],
        "credentials": selectors.registry_credential_list(workspace=workspace),
        "member_form": forms.get("member_form") or MemberForm(),
        "credential_form": forms.get("credential_form") or RegistryCredentialForm(),
        "workspace_form": forms.get("workspace_form") or WorkspaceForm(),
        "member_errors": forms.get("member_errors", []),
        "quota": quotas.quota_body(workspace),
    }
    return render(request, "console/workspace_detail.html", context, status=status)


@login_required
@require_GET
@domain_errors
def workspace_detail(request: HttpRequest, slug: str) -> HttpResponse:
    return _workspace_page(request, slug)


@login_required
@require_POST
def workspace_create(request: HttpRequest) -> HttpResponse:
    form = WorkspaceForm(request.POST)
    if form.is_valid():
        try:
            workspace = workspaces.workspace_create(name=form.cleaned_data["name"], owner=request.user)
        except ConfigInvalid as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"Created workspace {workspace.name}; new services go there now.")
            return redirect("workspace-detail", slug=workspace.slug)
    current = workspaces.workspace_current_ensure(user=request.user)
    return _workspace_page(request, current.slug, status=400, workspace_form=form)


@login_required
@require_POST
@domain_errors
def workspace_switch(request: HttpRequest) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=request.POST.get("workspace", ""))
    workspaces.workspace_switch(user=request.user, workspace=workspace)
    return redirect("service-list")


@login_required
@require_POST
@domain_errors
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    access.check_is_owner(user=request.user, workspace=workspace)
    form = MemberForm(request.POST)
    if form.is_valid():
        try:
            workspaces.membership_set(actor=request.user, workspace=workspace, **form.cleaned_data)
        except (ConfigInvalid, Conflict) as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['username']} is now {form.cleaned_data['role']}.")
            return redirect("workspace-detail", slug=slug)
    return _workspace_page(request, slug, status=400, member_form=form)


@login_required
@require_POST
@domain_errors
def member_change(request: HttpRequest, slug: str, username: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    access.check_is_owner(user=request.user, workspace=workspace)
    membership = selectors.membership_list(workspace=workspace).filter(user__username=username).first()
    if membership is None:
        raise Http404(f"{username} is not a member")
    form = MemberRoleForm(request.POST, prefix=f"m{membership.pk}")
    if form.is_valid():
        try:
            workspaces.membership_set(
                actor=request.user, workspace=workspace, username=username, role=form.cleaned_data["role"]
            )
        except (ConfigInvalid, Conflict) as exc:
            return _workspace_page(request, slug, status=400, member_errors=[f"{username}: {sentence(exc)}"])
        messages.success(request, f"{username} is now {form.cleaned_data['role']}.")
        return redirect("workspace-detail", slug=slug)
    return _workspace_page(request, slug, status=400, member_errors=[f"{username}: choose a role"])


@login_required
@require_POST
@domain_errors
def member_remove(request: HttpRequest, slug: str, username: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    try:
        workspaces.membership_remove(actor=request.user, workspace=workspace, username=username)
    except Conflict as exc:
        return _workspace_page(request, slug, status=400, member_errors=[f"{username}: {exc}"])
    messages.success(request, f"Removed {username} from {workspace.name}.")
    if username == request.user.get_username():
        return redirect("service-list")  # they can no longer see this workspace
    return redirect("workspace-detail", slug=slug)


@login_required
@require_POST
@domain_errors
def registry_credential_add(request: HttpRequest, slug: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    access.check_can_write(user=request.user, workspace=workspace)
    form = RegistryCredentialForm(request.POST)
    if form.is_valid():
        try:
            credential = credentials.registry_credential_create(
                actor=request.user, workspace=workspace, **form.cleaned_data
            )
        except ConfigInvalid as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"Saved registry credential {credential.name}.")
            return redirect("workspace-detail", slug=slug)
    return _workspace_page(request, slug, status=400, credential_form=form)


@login_required
@require_POST
@domain_errors
def registry_credential_delete(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    credential = selectors.registry_credential_list(workspace=workspace).filter(name=name).first()
    if credential is None:
        raise Http404(f"no registry credential named {name!r}")
    credentials.registry_credential_delete(actor=request.user, credential=credential)
    messages.success(request, f"Deleted registry credential {name}.")
    return redirect("workspace-detail", slug=slug)
