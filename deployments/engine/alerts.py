"""Alert dispatch: turn the events that mean trouble into incidents, and deliver each incident once.

`alerts_dispatch_pass` runs from beat (BERTH_ALERT_INTERVAL). It reads the events recorded since
the last pass (a cursor row: every event is looked at once, and a first run starts at the newest
event instead of replaying history), opens an incident for each kind of trouble of a service that
has none open, closes a service's incidents when it is Running again, and checks the gateway's
heartbeat. Every enabled channel of the workspace gets one delivery per incident; deliveries are
retried with back-off and their state (sent, failed and why) shows on the alerts page.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from deployments import heartbeats
from deployments.choices import EventType
from deployments.models import (
    AlertChannel,
    AlertCursor,
    AlertDelivery,
    AlertIncident,
    AlertKind,
    ChannelKind,
    DeliveryStatus,
    Event,
)

log = logging.getLogger(__name__)

# Event reasons that open an incident (warnings only) and those that close a service's incidents.
OPENING = {
    "Failed": AlertKind.DEPLOY_FAILED,
    "RolloutFailed": AlertKind.ROLLOUT_FAILED,
    "Restarted": AlertKind.CRASH_LOOP,
    "OOMKilled": AlertKind.OOM_KILLED,
    "HostUnreachable": AlertKind.HOST_UNREACHABLE,
}
CLOSING = {"Running", "Stopped"}
MAX_ATTEMPTS = 5
BATCH = 500


def console_link(service_name: str | None) -> str:
    base = settings.BERTH_CONSOLE_URL.rstrip("/")
    return base + (reverse("service-detail", args=[service_name]) if service_name else reverse("dashboard"))


def alerts_dispatch_pass() -> dict:
    """One pass: events → incidents → deliveries → sends. Safe to run concurrently (rows are claimed)."""
    opened = _events_to_incidents()
    opened += _gateway_incident()
    sent, failed = _send_due()
    return {"opened": opened, "sent": sent, "failed": failed}


def _events_to_incidents() -> int:
    opened = 0
    with transaction.atomic():
        cursor = AlertCursor.objects.select_for_update().first()
        if cursor is None:
            newest = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
            AlertCursor.objects.create(last_event_id=newest)
            return 0
        events = list(
            Event.objects.filter(id__gt=cursor.last_event_id)
            .select_related("service__workspace")
            .order_by("id")[:BATCH]
        )
        for event in events:
            if event.reason in CLOSING:
                AlertIncident.objects.filter(service=event.service, closed_at__isnull=True).update(
                    closed_at=timezone.now()
                )
            elif event.reason in OPENING and event.type == EventType.WARNING:
                opened += _open(
                    kind=OPENING[event.reason],
                    workspace=event.service.workspace,
                    service=event.service,
                    message=event.message,
                )
        if events:
            AlertCursor.objects.filter(pk=cursor.pk).update(last_event_id=events[-1].id)
    return opened


def _open(*, kind: str, workspace, service, message: str) -> int:
    """Open an incident unless one of this kind is open for this service; queue one delivery per channel."""
    if AlertIncident.objects.filter(kind=kind, service=service, closed_at__isnull=True).exists():
        return 0
    incident = AlertIncident.objects.create(kind=kind, workspace=workspace, service=service, message=message)
    channels = AlertChannel.objects.filter(enabled=True)
    channels = channels.filter(workspace=workspace) if workspace is not None else channels
    name = service.name if service else None
    subject = f"[Berth] {AlertKind(kind).label}" + (f": {name}" if name else "")
    payload = {
        "kind": kind,
        "subject": subject,
        "message": message,
        "service": name,
        "workspace": workspace.slug if workspace else None,
        "url": console_link(name),
        "incident": incident.pk,
        "opened_at": incident.opened_at.isoformat(timespec="seconds"),
    }
    AlertDelivery.objects.bulk_create(
        AlertDelivery(channel=c, incident=incident, kind=kind, subject=subject, payload=payload) for c in channels
    )
    return 1


def _gateway_incident() -> int:
    """The gateway controller's heartbeat: stale opens a 'gateway down' incident for every workspace,
    fresh closes it. A gateway that never beat (not started on this installation) says nothing."""
    try:
        beat = heartbeats.heartbeats(["gateway"])["gateway"]
    except Exception:  # Redis down: the health page says so; alerts wait for the next pass
        return 0
    if beat["age_seconds"] is None:
        return 0
    open_incident = AlertIncident.objects.filter(kind=AlertKind.GATEWAY_DOWN, closed_at__isnull=True)
    if beat["fresh"]:
        open_incident.update(closed_at=timezone.now())
        return 0
    message = f"the gateway controller has not been heard from for {beat['age_seconds']:.0f} s"
    return _open(kind=AlertKind.GATEWAY_DOWN, workspace=None, service=None, message=message)


def _send_due() -> tuple[int, int]:
    now = timezone.now()
    due = AlertDelivery.objects.filter(status=DeliveryStatus.PENDING).exclude(next_attempt_at__gt=now)
    sent = failed = 0
    for delivery in due.select_related("channel").order_by("id")[:50]:
        # Claim it: a concurrent pass that read the same row finds `attempts` moved on and skips it.
        claimed = AlertDelivery.objects.filter(pk=delivery.pk, attempts=delivery.attempts).update(
            attempts=delivery.attempts + 1, next_attempt_at=now + timedelta(seconds=60)
        )
        if not claimed:
            continue
        delivery.attempts += 1
        if alert_deliver(delivery):
            sent += 1
        else:
            failed += 1
    return sent, failed


def alert_deliver(delivery: AlertDelivery) -> bool:
    """Send one delivery now and record the outcome (sent, retry later, or failed for good)."""
    try:
        _send(delivery.channel, subject=delivery.subject, payload=delivery.payload)
    except Exception as exc:  # any failure is recorded on the row, never raised into the pass
        error = _describe(exc)
        given_up = delivery.attempts >= MAX_ATTEMPTS
        AlertDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED if given_up else DeliveryStatus.PENDING,
            last_error=error,
            next_attempt_at=timezone.now()
            + timedelta(seconds=settings.BERTH_ALERT_RETRY_SECONDS * 2**delivery.attempts),
        )
        log.warning(
            "alert %s to channel %s failed (attempt %s): %s",
            delivery.pk,
            delivery.channel.name,
            delivery.attempts,
            error,
        )
        return False
    AlertDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), last_error=""
    )
    return True


def _send(channel: AlertChannel, *, subject: str, payload: dict) -> None:
    if channel.kind == ChannelKind.EMAIL:
        lines = [payload["message"], "", payload["url"]]
        recipients = [a.strip() for a in channel.emails.split(",") if a.strip()]
        send_mail(subject, "\n".join(lines), settings.DEFAULT_FROM_EMAIL, recipients)
        return
    request = urllib.request.Request(
        channel.url,
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "berth-alerts"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=settings.BERTH_ALERT_TIMEOUT) as response:
        response.read(1024)


def _describe(exc: Exception) -> str:
    """A failure in a sentence, without the webhook's URL (its path may carry a token)."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"the webhook answered HTTP {exc.code}"
    if isinstance(exc, urllib.error.URLError):
        return f"cannot reach the webhook: {exc.reason}"
    if isinstance(exc, TimeoutError):
        return f"the webhook did not answer within {settings.BERTH_ALERT_TIMEOUT} s"
    return f"{type(exc).__name__}: {exc}"
