"""Console views: typed function views; one view serves a page and its htmx fragments.

Access rules live in deployments.selectors / deployments.services; a view reads
input, calls them and renders. `domain_errors` turns NotFound into 404 and
Forbidden into 403 for every view, so none repeats the try/except.
"""

import json
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console import service_form as sf
from console.forms import (
    ApiKeyForm,
    ImportForm,
    MemberForm,
    MemberRoleForm,
    RegistryCredentialForm,
    WorkspaceForm,
)
from deployments import selectors, services, spec
from deployments.choices import ServiceStatus
from deployments.errors import Conflict, ConfigInvalid, Forbidden, NotFound
from deployments.models import Service, Workspace

PAGE_SIZE = 25


def domain_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Map the domain's NotFound to 404 and Forbidden to 403."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as exc:
            raise Http404(str(exc)) from exc
        except Forbidden as exc:
            raise PermissionDenied(str(exc)) from exc

    return wrapper


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("service-list")


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


# --- services: list (the service page is in console/views_engine.py) ------------------------


@login_required
@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    """The current workspace's services; htmx requests get only the table (search, filter, pages)."""
    workspace = services.workspace_current_for_user(user=request.user)
    membership = selectors.membership_get(user=request.user, workspace=workspace)
    search = request.GET.get("search", "").strip()
    status = request.GET.get("status", "")
    if status not in ServiceStatus.values:
        status = ""
    rows = selectors.service_list_for_user(user=request.user, workspace=workspace, search=search, status=status)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {k: v for k, v in (("search", search), ("status", status)) if v}
    context = {
        "workspace": workspace,
        "membership": membership,
        "page": page,
        "search": search,
        "status": status,
        "statuses": ServiceStatus.choices,
        "page_query": urlencode(filters) + "&" if filters else "",
    }
    template = "deployments/service_list.html"
    # Only the table for htmx's own swaps; a history restore (also an htmx request) needs the whole page.
    partial = request.htmx.target == "service-table"
    return render(request, f"{template}#service-table" if partial else template, context)


@login_required
@require_POST
@domain_errors
def service_delete(request: HttpRequest, name: str) -> HttpResponse:
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    services.check_can_write(user=request.user, workspace=service.workspace)
    if request.POST.get("confirm", "").strip() != service.name:  # as Coolify and Railway: type the name
        messages.error(request, f"Not deleted: type the service name, {service.name}, to confirm.")
        return redirect("service-detail", name=service.name)
    if services.service_delete(actor=request.user, service=service):
        messages.success(request, f"Deleted service {name}.")
    else:
        messages.success(request, f"Deleting service {name}: its instances are being removed first.")
    return redirect("service-list")


# --- services: the form ----------------------------------------------------------------------


def _preview(form: sf.ServiceForm, *, service: Service | None) -> dict[str, Any]:
    """Validate what the form describes, put the errors next to their fields, and render the JSON preview.

    For a saved service the stored secrets stand in for the masks, as service_update
    does, so "****" is not reported as bad base64; the preview masks them again.
    """
    config, problems = sf.to_config(form)
    checked = config
    if service is not None and service.current_version is not None:
        checked = spec.join_secrets(config, service.current_version.secrets)
    result = spec.validate_config(checked)
    sf.attach_errors(form, result.errors, problems)
    if result.ok:
        preview_json = spec.canonical_json(spec.mask_secrets(result.config))
    else:
        preview_json = json.dumps(spec.mask_secrets(config), indent=2, ensure_ascii=False)
    return {
        "form": form,
        "preview_json": preview_json,
        "preview_ok": result.ok and not problems,
        "warnings": result.warnings,
    }


# "draft" saves a new service without deploying it; an existing service's changes always apply.
SAVE_OPS = ("save", "draft")


def _blank_form() -> sf.ServiceForm:
    form = sf.ServiceForm(port="8000", instance="1")
    form.renumber()
    return form


def _credential_names(workspace: Workspace, form: sf.ServiceForm) -> list[str]:
    names = list(selectors.registry_credential_list(workspace=workspace).values_list("name", flat=True))
    if form.registry_credential and form.registry_credential not in names:
        names.append(form.registry_credential)  # named by an imported config: shown, and reported by the save
    return names


def _import(request: HttpRequest) -> tuple[sf.ServiceForm | None, str]:
    """The form filled from a pasted or uploaded config, or (None, why not)."""
    upload = ImportForm(request.POST, request.FILES)
    if not upload.is_valid():
        return None, " ".join(upload.non_field_errors()) or "nothing to import"
    config, problem = sf.parse_json_object(upload.cleaned_data["text"], upload.cleaned_data["source"])
    if problem:
        return None, problem
    return sf.from_config(config), ""


def _service_editor(request: HttpRequest, *, workspace: Workspace, service: Service | None) -> HttpResponse:
    """The create and edit page. POST `op`: save (default), draft (create without deploying), import,
    add-env, remove-env-N, add-storage, ...

    Everything but save answers an htmx request with the editor fragment; without
    JavaScript the same POSTs re-render the whole page.
    """
    page_url = reverse("service-edit", args=[service.name]) if service else reverse("service-create")
    op = request.POST.get("op", "save") if request.method == "POST" else ""
    import_error = ""
    save_errors: list[dict] | None = None
    problems: list[tuple[str, str]] = []
    if request.method == "GET":
        form = sf.from_config(services.service_config(service=service)) if service else _blank_form()
    elif op == "import":
        imported, import_error = _import(request)
        form = imported or sf.from_post(request.POST)
        if imported is not None and service is not None:
            form.name = service.name  # a service cannot be renamed; keep the page's name
    elif op not in SAVE_OPS:
        form = sf.from_post(request.POST)
        sf.apply_op(form, op)
    else:
        form = sf.from_post(request.POST)
        config, problems = sf.to_config(form)
        save_errors = []
        if not problems:
            try:
                return _save(request, workspace=workspace, service=service, config=config, deploy=op == "save")
            except ConfigInvalid as exc:
                save_errors = exc.errors
    context = {
        **_preview(form, service=service),
        "service": service,
        "workspace": workspace,
        "page_url": page_url,
        "credential_names": _credential_names(workspace, form),
        "import_error": import_error,
    }
    if save_errors is not None:
        # The save's errors win: they include rules only the service knows (a name taken, a missing credential).
        sf.attach_errors(form, save_errors, problems)
    template = "deployments/service_form.html"
    partial = request.htmx.target == "editor" and op not in ("", *SAVE_OPS)
    # htmx swaps only 2xx answers, so a fragment with errors in it is a 200.
    status = 400 if (save_errors is not None or import_error) and not partial else 200
    return render(request, f"{template}#editor" if partial else template, context, status=status)


def _save(
    request: HttpRequest, *, workspace: Workspace, service: Service | None, config: dict, deploy: bool = True
) -> HttpResponse:
    if service is None:
        service, warnings = services.service_create(
            actor=request.user, workspace=workspace, config=config, deploy=deploy
        )
        if deploy:
            messages.success(request, f"Created service {service.name} (version 1); deploying it.")
        else:
            messages.success(request, f"Saved {service.name} as a draft (version 1): nothing runs until you deploy it.")
    else:
        service, changed, warnings = services.service_update(actor=request.user, service=service, config=config)
        if changed:
            messages.success(request, f"Saved {service.name}: version {service.latest_version_number}.")
        else:
            messages.success(request, f"Saved {service.name}: no new version (only instances or token changed).")
    for warning in warnings:
        messages.warning(request, f"{warning['path']}: {warning['message']}" if warning["path"] else warning["message"])
    return redirect("service-detail", name=service.name)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def service_create(request: HttpRequest) -> HttpResponse:
    workspace = services.workspace_current_for_user(user=request.user)
    services.check_can_write(user=request.user, workspace=workspace)
    return _service_editor(request, workspace=workspace, service=None)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def service_edit(request: HttpRequest, name: str) -> HttpResponse:
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    services.check_can_write(user=request.user, workspace=service.workspace)
    return _service_editor(request, workspace=service.workspace, service=service)


def _form_service(request: HttpRequest) -> Service | None:
    """The saved service an edit form belongs to (its stored secrets stand in for masks)."""
    name = request.POST.get("service_name", "")
    if not name:
        return None
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    services.check_can_write(user=request.user, workspace=service.workspace)  # it is the edit page's preview
    return service


@login_required
@require_POST
@domain_errors
def service_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the JSON preview and every field's errors (out of band) for the form as typed. Writes nothing."""
    context = _preview(sf.from_post(request.POST), service=_form_service(request))
    return render(request, "deployments/service_form.html#preview-response", context)


def _json_attachment(text: str, name: str) -> HttpResponse:
    response = HttpResponse(text if text.endswith("\n") else text + "\n", content_type="application/json")
    response["Content-Disposition"] = content_disposition_header(True, f"{name or 'service'}.json")
    return response


@login_required
@require_POST
def service_download_form(request: HttpRequest) -> HttpResponse:
    """The form as typed, as a JSON file. Secrets masked unless asked for: the user typed them."""
    form = sf.from_post(request.POST)
    config, _ = sf.to_config(form)
    result = spec.validate_config(config)
    body = result.config if result.ok else config
    if not request.POST.get("include_secrets"):
        body = spec.mask_secrets(body)
    text = spec.canonical_json(body) if result.ok else json.dumps(body, indent=2, ensure_ascii=False)
    return _json_attachment(text, form.name)


@login_required
@require_GET
@domain_errors
def service_download(request: HttpRequest, name: str) -> HttpResponse:
    """A saved service's config as a JSON file; `?secrets=1` (owners only) includes the secrets."""
    service, membership = selectors.service_get_for_user(user=request.user, name=name)
    if not membership.can_write:
        raise Forbidden("viewers cannot download service configs")
    reveal = request.GET.get("secrets") == "1"
    if reveal and not membership.is_owner:
        raise Forbidden("only owners can download a config with its secrets")
    config = services.service_config(service=service, reveal_secrets=reveal)
    return _json_attachment(spec.canonical_json(config), service.name)


# --- workspaces ------------------------------------------------------------------------------


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
    }
    return render(request, "console/workspace_detail.html", context, status=status)


def _add_errors(form: Any, exc: ConfigInvalid | Conflict) -> None:
    if isinstance(exc, Conflict):
        form.add_error(None, str(exc))
        return
    for issue in exc.errors:
        form.add_error(issue["path"] if issue["path"] in form.fields else None, issue["message"])


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
            workspace = services.workspace_create(name=form.cleaned_data["name"], owner=request.user)
        except ConfigInvalid as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Created workspace {workspace.name}; new services go there now.")
            return redirect("workspace-detail", slug=workspace.slug)
    current = services.workspace_current_for_user(user=request.user)
    return _workspace_page(request, current.slug, status=400, workspace_form=form)


@login_required
@require_POST
@domain_errors
def workspace_switch(request: HttpRequest) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=request.POST.get("workspace", ""))
    services.workspace_switch(user=request.user, workspace=workspace)
    return redirect("service-list")


@login_required
@require_POST
@domain_errors
def member_add(request: HttpRequest, slug: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    services.check_is_owner(user=request.user, workspace=workspace)
    form = MemberForm(request.POST)
    if form.is_valid():
        try:
            services.membership_set(actor=request.user, workspace=workspace, **form.cleaned_data)
        except (ConfigInvalid, Conflict) as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{form.cleaned_data['username']} is now {form.cleaned_data['role']}.")
            return redirect("workspace-detail", slug=slug)
    return _workspace_page(request, slug, status=400, member_form=form)


@login_required
@require_POST
@domain_errors
def member_change(request: HttpRequest, slug: str, username: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    services.check_is_owner(user=request.user, workspace=workspace)
    membership = selectors.membership_list(workspace=workspace).filter(user__username=username).first()
    if membership is None:
        raise Http404(f"{username} is not a member")
    form = MemberRoleForm(request.POST, prefix=f"m{membership.pk}")
    if form.is_valid():
        try:
            services.membership_set(
                actor=request.user, workspace=workspace, username=username, role=form.cleaned_data["role"]
            )
        except (ConfigInvalid, Conflict) as exc:
            return _workspace_page(request, slug, status=400, member_errors=[f"{username}: {_sentence(exc)}"])
        messages.success(request, f"{username} is now {form.cleaned_data['role']}.")
        return redirect("workspace-detail", slug=slug)
    return _workspace_page(request, slug, status=400, member_errors=[f"{username}: choose a role"])


def _sentence(exc: ConfigInvalid | Conflict) -> str:
    if isinstance(exc, ConfigInvalid) and exc.errors:
        return "; ".join(issue["message"] for issue in exc.errors)
    return str(exc)


@login_required
@require_POST
@domain_errors
def member_remove(request: HttpRequest, slug: str, username: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    try:
        services.membership_remove(actor=request.user, workspace=workspace, username=username)
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
    services.check_can_write(user=request.user, workspace=workspace)
    form = RegistryCredentialForm(request.POST)
    if form.is_valid():
        try:
            credential = services.registry_credential_create(
                actor=request.user, workspace=workspace, **form.cleaned_data
            )
        except ConfigInvalid as exc:
            _add_errors(form, exc)
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
    services.registry_credential_delete(actor=request.user, credential=credential)
    messages.success(request, f"Deleted registry credential {name}.")
    return redirect("workspace-detail", slug=slug)


# --- API keys --------------------------------------------------------------------------------


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
    _, plain = services.api_key_create(user=request.user, name=form.cleaned_data["name"])
    response = _api_key_page(request, new_key=plain)
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
@domain_errors
def api_key_delete(request: HttpRequest, pk: int) -> HttpResponse:
    services.api_key_delete(user=request.user, key_id=pk)
    messages.success(request, "Deleted the API key; clients using it are refused from now on.")
    return redirect("api-key-list")
