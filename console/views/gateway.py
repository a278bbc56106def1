"""Console views of the gateway: endpoints, the token reveal, a "try it" panel, traffic charts, /metrics.

The service page includes the partials templates/deployments/_gateway_endpoints.html and
_gateway_traffic.html with the context from `gateway_context`; /services/<name>/gateway
shows both on their own page.
"""

from __future__ import annotations

import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from deployments import selectors
from deployments.errors import NotFound
from deployments.gateway import queries
from deployments.models import Membership, Service


def _service_for(request: HttpRequest, name: str) -> tuple[Service, Membership]:
    # Not console.views.domain_errors: console/views.py imports this module for gateway_context.
    try:
        return selectors.service_get_for_user(user=request.user, name=name)
    except NotFound as exc:
        raise Http404(str(exc)) from exc


def gateway_context(service: Service, membership: Membership | None) -> dict:
    """The context the _gateway_* partials need, under one key: {"gateway": {...}}."""
    endpoints = selectors.service_endpoints(service=service)
    return {
        "gateway": {
            "internet": endpoints["internet"],
            "intranet": endpoints["intranet"],
            "grpc_target": endpoints["grpc"],
            "can_see_token": selectors.can_see_token(membership),
            "curl": curl_line(endpoints["internet"], "<token>"),
            "token_url": reverse("service-token-reveal", args=[service.name]),
            "metrics_url": reverse("api-service-metrics", args=[service.name]),
            "refresh_seconds": max(2, settings.BERTH_GATEWAY_METRICS_INTERVAL),
        }
    }


def curl_line(endpoint: str, token: str) -> str:
    return f"curl -H 'Authorization: {token}' -H 'Content-Type: application/json' {endpoint}/ -d '{{}}'"


@login_required
@require_GET
def service_gateway(request: HttpRequest, name: str) -> HttpResponse:
    """Endpoints, token, "try it" and traffic on one page."""
    service, membership = _service_for(request, name)
    return render(request, "deployments/_gateway_page.html", {"service": service, **gateway_context(service, membership)})


@login_required
@require_GET
@never_cache
def service_token(request: HttpRequest, name: str) -> HttpResponse:
    """The token, for owners and developers (htmx fragment; also fills the curl line and "try it")."""
    service, membership = _service_for(request, name)
    if not selectors.can_see_token(membership):
        raise Http404(f"no service named {name!r}")  # viewers never learn more than outsiders
    internet = f"{settings.BERTH_INTERNET_ENDPOINT}/api/predict/{service.name}"
    context = {"service": service, "token": service.token, "curl": curl_line(internet, service.token)}
    return render(request, "deployments/_gateway_token.html", context)


@require_GET
def prometheus_metrics(request: HttpRequest) -> HttpResponse:
    """The console's own metrics for Prometheus, which name every workspace's services.

    Answered to `Authorization: Bearer <BERTH_METRICS_TOKEN>` (when that is set) or to a staff session;
    everyone else gets 401 (403 for a signed-in non-staff user), so tenants never see each other's names.
    """
    expected = settings.BERTH_METRICS_TOKEN
    given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    token_ok = bool(expected) and hmac.compare_digest(given.encode(), expected.encode())
    if not token_ok and not request.user.is_staff:
        if request.user.is_authenticated:
            return HttpResponse("forbidden: staff only\n", status=403, content_type="text/plain")
        return HttpResponse("unauthorized\n", status=401, content_type="text/plain")
    return HttpResponse(queries.prometheus_text(), content_type="text/plain; version=0.0.4; charset=utf-8")
