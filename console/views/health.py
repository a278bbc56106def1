"""/healthz: the web process answers; /healthz?full=1: the health of Berth itself (deployments/health.py)."""

import hmac

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from console import processes
from deployments import health


def healthz(request: HttpRequest) -> HttpResponse:
    """Plain: the web process is up (load balancers). With ?full=1: every process and dependency."""
    if request.GET.get("full"):
        return healthz_full(request)
    return JsonResponse({"ok": True})


def full_report() -> dict:
    """The health report for Berth's process set (the processes `make run` and the units start)."""
    return health.report(expected=processes.heartbeat_names())


def healthz_full(request: HttpRequest) -> HttpResponse:
    """200 when every process is fresh and every dependency answers, 503 otherwise, naming what is wrong.

    An htmx request (the staff dashboard's card, templates/console/_berth_health.html) gets that card,
    always with 200 so htmx swaps it in.

    Open like /metrics unless BERTH_METRICS_TOKEN is set; then a Bearer token or a staff session is needed
    (the report names hosts and internal errors).
    """
    expected = settings.BERTH_METRICS_TOKEN
    if expected and not getattr(request.user, "is_staff", False):
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return JsonResponse({"ok": False, "problems": ["unauthorized"]}, status=401)
    if request.htmx:
        if not request.user.is_staff:
            raise PermissionDenied("only administrators see the dashboard")
        return render(request, "console/_berth_health.html", {"health": full_report()})
    report = full_report()
    return JsonResponse(report, status=200 if report["ok"] else 503)
