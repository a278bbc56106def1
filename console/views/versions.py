"""A diff between any two versions' configs (secrets are stored apart and never shown)."""

import difflib

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from console.views.common import domain_errors
from deployments import selectors, spec
from deployments.errors import NotFound


def _number(raw: str | None, default: int) -> int:
    try:
        return int(raw) if raw else default
    except ValueError:
        return default


@login_required
@require_GET
@domain_errors
def version_diff(request: HttpRequest, name: str) -> HttpResponse:
    """`?a=1&b=2`: the unified diff of version a's config to version b's (defaults: the two newest)."""
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    versions = list(service.versions.order_by("-number"))
    if not versions:
        raise NotFound(f"service {name!r} has no versions")
    newest = versions[0].number
    a = _number(request.GET.get("a"), versions[1].number if len(versions) > 1 else newest)
    b = _number(request.GET.get("b"), newest)
    by_number = {version.number: version for version in versions}
    if a not in by_number or b not in by_number:
        raise NotFound(f"service {name!r} has no version {a if a not in by_number else b}")
    before = spec.canonical_json(by_number[a].config).splitlines()
    after = spec.canonical_json(by_number[b].config).splitlines()
    lines = list(difflib.unified_diff(before, after, f"v{a}", f"v{b}", lineterm="", n=3))
    rows = [
        {"text": line, "kind": line[:1] if line[:1] in "+-@" and not line.startswith(("+++", "---")) else ""}
        for line in lines
    ]
    context = {"service": service, "versions": versions, "a": a, "b": b, "rows": rows}
    return render(request, "deployments/version_diff.html", context)
