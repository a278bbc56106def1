"""The service editor: the form with its live JSON preview, import, download, save."""

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.forms import ImportForm
from console.forms import service as sf
from console.views.common import domain_errors, json_attachment
from deployments import access, selectors, spec
from deployments.actions import images, services, workspaces
from deployments.errors import ConfigInvalid, Conflict, Forbidden
from deployments.models import Service, Workspace


def _preview(form: sf.ServiceForm, *, workspace: Workspace, service: Service | None) -> dict[str, Any]:
    """Validate what the form describes, put the errors next to their fields, and render the JSON preview.

    The same checks as saving (services.service_config_validate: reserved and taken names, saved
    credentials, object stores, host-path roots), so a preview that says valid is a config Save takes.
    For a saved service the stored secrets stand in for the masks, as service_update does, so "****"
    is not reported as bad base64; the preview masks them again.
    """
    config, problems = sf.to_config(form)
    checked = config
    if service is not None and service.current_version is not None:
        checked = spec.join_secrets(config, service.current_version.secrets)
    try:
        result = services.service_config_validate(config=checked, workspace=workspace, service=service)
        errors, warnings, ok = [], result.warnings, True
    except ConfigInvalid as exc:
        errors, warnings, ok = exc.errors, exc.warnings, False
    sf.attach_errors(form, errors, problems)
    if ok:
        preview_json = spec.canonical_json(spec.mask_secrets(result.config))
    else:
        preview_json = json.dumps(spec.mask_secrets(config), indent=2, ensure_ascii=False)
    return {
        "form": form,
        "preview_json": preview_json,
        "preview_ok": ok and not problems,
        "warnings": warnings,
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
        **_preview(form, workspace=workspace, service=service),
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
    workspace = workspaces.workspace_current_ensure(user=request.user)
    access.check_can_write(user=request.user, workspace=workspace)
    return _service_editor(request, workspace=workspace, service=None)


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def service_edit(request: HttpRequest, name: str) -> HttpResponse:
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    access.check_can_write(user=request.user, workspace=service.workspace)
    return _service_editor(request, workspace=service.workspace, service=service)


def _form_service(request: HttpRequest) -> Service | None:
    """The saved service an edit form belongs to (its stored secrets stand in for masks)."""
    name = request.POST.get("service_name", "")
    if not name:
        return None
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    access.check_can_write(user=request.user, workspace=service.workspace)  # it is the edit page's preview
    return service


@login_required
@require_POST
@domain_errors
def service_preview(request: HttpRequest) -> HttpResponse:
    """htmx: the JSON preview and every field's errors (out of band) for the form as typed. Writes nothing."""
    service = _form_service(request)
    workspace = service.workspace if service else workspaces.workspace_current_ensure(user=request.user)
    context = _preview(sf.from_post(request.POST), workspace=workspace, service=service)
    return render(request, "deployments/service_form.html#preview-response", context)


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
    return json_attachment(text, form.name)


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
    return json_attachment(spec.canonical_json(config), service.name)


@login_required
@require_POST
@domain_errors
def service_test_pull(request: HttpRequest) -> HttpResponse:
    """Pull the images of the form as typed on a ready host, with the credentials a deploy would use.

    Saves nothing. On an edit page the stored secrets stand in for the masks (as the preview does).
    """
    service = _form_service(request)
    workspace = service.workspace if service else workspaces.workspace_current_ensure(user=request.user)
    access.check_can_write(user=request.user, workspace=workspace)  # before the form: viewers learn nothing
    config, problems = sf.to_config(sf.from_post(request.POST))
    results: list[dict] = []
    errors = [message for _, message in problems]
    if not errors:
        if service is not None and service.current_version is not None:
            config = spec.join_secrets(config, service.current_version.secrets)
        try:
            results = images.image_test_pull(actor=request.user, workspace=workspace, config=config)
        except ConfigInvalid as exc:
            errors = [f"{e['path']}: {e['message']}" if e["path"] else e["message"] for e in exc.errors]
        except Conflict as exc:
            errors = [str(exc)]
    context = {"pull_results": results, "pull_errors": errors, "pull_done": True, "service": service}
    if request.htmx:
        return render(request, "deployments/service_form.html#test-pull", context)
    return render(request, "deployments/test_pull.html", context)  # the form posted without JavaScript
