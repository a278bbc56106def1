"""What every console view shares: domain errors become 404/403, the staff check, small helpers."""

from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import content_disposition_header

from deployments.choices import ServiceStatus
from deployments.errors import ConfigInvalid, Conflict, Forbidden, NotFound

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


def staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Administrators only (after @login_required, so visitors are sent to log in first)."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied("only administrators manage Docker hosts and see the dashboard")
        return view(request, *args, **kwargs)

    return wrapper


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect("service-list")


def add_errors(form: Any, exc: ConfigInvalid | Conflict) -> None:
    if isinstance(exc, Conflict):
        form.add_error(None, str(exc))
        return
    for issue in exc.errors:
        form.add_error(issue["path"] if issue["path"] in form.fields else None, issue["message"])


def sentence(exc: ConfigInvalid | Conflict) -> str:
    if isinstance(exc, ConfigInvalid) and exc.errors:
        return "; ".join(issue["message"] for issue in exc.errors)
    return str(exc)


def json_attachment(text: str, name: str) -> HttpResponse:
    response = HttpResponse(text if text.endswith("\n") else text + "\n", content_type="application/json")
    response["Content-Disposition"] = content_disposition_header(True, f"{name or 'service'}.json")
    return response


def status_filter(request: HttpRequest) -> str:
    """The `status` query parameter when it names a service status, else "" (no filter)."""
    status = request.GET.get("status", "")
    return status if status in ServiceStatus.values else ""


def paged(request: HttpRequest, rows, **filters: str) -> dict[str, Any]:
    """One page of `rows` and the query string that keeps `filters` on the pagination links."""
    kept = {k: v for k, v in filters.items() if v}
    return {
        "page": Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page")),
        "page_query": urlencode(kept) + "&" if kept else "",
    }
