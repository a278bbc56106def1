"""A workspace's alerts page: channels (add, test, remove) and the latest deliveries with their outcome."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from console.forms import AlertChannelForm
from console.views.common import add_errors, domain_errors
from deployments import selectors
from deployments.actions import alerts
from deployments.errors import ConfigInvalid
from deployments.models import DeliveryStatus


def _alerts_page(request: HttpRequest, slug: str, *, form: AlertChannelForm | None = None, status: int = 200):
    workspace, membership = selectors.workspace_get_for_user(user=request.user, slug=slug)
    context = {
        "workspace": workspace,
        "membership": membership,
        "channels": selectors.alert_channel_list(workspace=workspace),
        "deliveries": selectors.alert_delivery_list(workspace=workspace),
        "form": form or AlertChannelForm(),
    }
    return render(request, "console/alerts.html", context, status=status)


@login_required
@require_GET
@domain_errors
def alert_channel_list(request: HttpRequest, slug: str) -> HttpResponse:
    return _alerts_page(request, slug)


@login_required
@require_POST
@domain_errors
def alert_channel_create(request: HttpRequest, slug: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    form = AlertChannelForm(request.POST)
    if form.is_valid():
        try:
            channel = alerts.alert_channel_create(actor=request.user, workspace=workspace, **form.cleaned_data)
        except ConfigInvalid as exc:
            add_errors(form, exc)
        else:
            messages.success(request, f"Alerts now also go to {channel.name}. Send a test to check it arrives.")
            return redirect("alert-channel-list", slug=slug)
    return _alerts_page(request, slug, form=form, status=400)


@login_required
@require_POST
@domain_errors
def alert_channel_test(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    delivery = alerts.alert_channel_test(
        actor=request.user, channel=selectors.alert_channel_get(workspace=workspace, name=name)
    )
    if delivery.status == DeliveryStatus.SENT:
        messages.success(request, f"Test alert sent to {name}.")
    else:
        messages.error(request, f"The test alert to {name} failed: {delivery.last_error}. Berth retries it.")
    return redirect("alert-channel-list", slug=slug)


@login_required
@require_POST
@domain_errors
def alert_channel_delete(request: HttpRequest, slug: str, name: str) -> HttpResponse:
    workspace, _ = selectors.workspace_get_for_user(user=request.user, slug=slug)
    alerts.alert_channel_delete(actor=request.user, channel=selectors.alert_channel_get(workspace=workspace, name=name))
    messages.success(request, f"Removed the alert channel {name}.")
    return redirect("alert-channel-list", slug=slug)
