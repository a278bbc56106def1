"""The service page's Autoscaling panel: settings (edit, delete), current metrics, last decisions, a chart of
instances and the driving metric, cron jobs with their last run.

The service page embeds templates/deployments/_autoscaling_embed.html, which loads the panel with htmx;
/services/<name>/autoscaling shows it on its own page (links work without JS).
"""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from console.views.common import domain_errors
from deployments import selectors
from deployments.actions import autoscaling
from deployments.actions.scaler_step import scaler_history
from deployments.choices import WRITE_ROLES
from deployments.errors import ConfigInvalid
from deployments.models import Event

PAGE = "deployments/autoscaling.html"
DECISIONS = 10


class AutoscalerForm(forms.Form):
    min = forms.IntegerField(min_value=0, max_value=3000)
    max = forms.IntegerField(min_value=1, max_value=3000)
    strategies = forms.CharField(
        help_text="metric=target per instance, comma-separated, e.g. qps=10, cpu=70", max_length=500
    )
    scale_up_window = forms.IntegerField(min_value=0, required=False, label="Scale-up window (s)")
    scale_down_window = forms.IntegerField(min_value=0, required=False, label="Scale-down window (s)")

    def body(self) -> dict:
        """The autoscaler's config form; a malformed strategy is left for the parser to name."""
        data = self.cleaned_data
        strategies: dict = {}
        for item in filter(None, (part.strip() for part in data["strategies"].split(","))):
            name, _, value = item.partition("=")
            try:
                number = float(value)
                strategies[name.strip()] = int(number) if number.is_integer() else number
            except ValueError:
                strategies[name.strip()] = value.strip()
        body: dict = {"min": data["min"], "max": data["max"], "strategies": strategies}
        behavior = {}
        if data.get("scale_up_window") is not None:
            behavior["scaleUp"] = {"stabilizationWindowSeconds": data["scale_up_window"]}
        if data.get("scale_down_window") is not None:
            behavior["scaleDown"] = {"stabilizationWindowSeconds": data["scale_down_window"]}
        if behavior:
            body["behavior"] = behavior
        return body


def _initial(described: dict | None) -> dict:
    if not described:
        return {"min": 1, "max": 5, "strategies": "qps=10"}
    behavior = described.get("behavior") or {}
    return {
        "min": described["min"],
        "max": described["max"],
        "strategies": ", ".join(f"{s['metricName']}={s['threshold']}" for s in described["scaleStrategies"]),
        "scale_up_window": (behavior.get("scaleUp") or {}).get("stabilizationWindowSeconds"),
        "scale_down_window": (behavior.get("scaleDown") or {}).get("stabilizationWindowSeconds"),
    }


def _chart(service_id: int, described: dict | None) -> dict:
    """uPlot-ready columns: time, instances, and the first strategy's metric per instance."""
    history = scaler_history(service_id, limit=900)
    metric = described["scaleStrategies"][0]["metricName"] if described else None
    return {
        "metric": metric,
        "target": described["scaleStrategies"][0]["threshold"] if described else None,
        "at": [round(h["at"], 1) for h in history],
        "instances": [h["instances"] for h in history],
        "value": [h["metrics"].get(metric) for h in history],
    }


@login_required
@require_http_methods(["GET", "POST"])
@domain_errors
def service_autoscaling(request: HttpRequest, name: str) -> HttpResponse:
    """GET: the panel (a fragment for htmx, else a page). POST: save the autoscaler from the form."""
    service, membership = selectors.service_get_for_user(user=request.user, name=name)
    described = autoscaling.autoscaler_describe(service=service)
    form = AutoscalerForm(initial=_initial(described))
    if request.method == "POST":
        form = AutoscalerForm(request.POST)
        if form.is_valid():
            try:
                autoscaling.autoscaler_set(actor=request.user, service=service, body=form.body())
                return redirect(reverse("service-autoscaling", args=[name]))
            except ConfigInvalid as exc:
                for issue in exc.errors:
                    form.add_error(None, f"{issue['path']}: {issue['message']}")
    context = {
        "service": service,
        "can_write": membership is not None and membership.role in WRITE_ROLES,
        "autoscaler": described,
        "cronscaler": autoscaling.cronscaler_describe(service=service),
        "form": form,
        "decisions": Event.objects.filter(service=service, actor="autoscaler").order_by("-pk")[:DECISIONS],
        "chart": _chart(service.pk, described),
    }
    template = f"{PAGE}#panel" if request.htmx and request.method == "GET" else PAGE
    return render(request, template, context, status=400 if form.errors else 200)


@login_required
@require_POST
@domain_errors
def service_autoscaler_delete(request: HttpRequest, name: str) -> HttpResponse:
    service, _ = selectors.service_get_for_user(user=request.user, name=name)
    autoscaling.autoscaler_delete(actor=request.user, service=service)
    return redirect(reverse("service-autoscaling", args=[name]))
