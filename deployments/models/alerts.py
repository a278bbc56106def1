"""Alerts: where a workspace wants to hear about trouble, the incidents Berth opened, and each delivery.

An incident is one problem of one service (or of the installation, e.g. the gateway is down): it
opens with the first event that shows it and closes when the service is Running again. Each enabled
channel gets one delivery per incident, retried until it is sent or gives up.
"""

from django.db import models

from deployments.crypto import EncryptedTextField


class AlertKind(models.TextChoices):
    DEPLOY_FAILED = "deploy_failed", "Deploy failed"
    ROLLOUT_FAILED = "rollout_failed", "Rollout failed"
    CRASH_LOOP = "crash_loop", "Instance crash loop"
    OOM_KILLED = "oom_killed", "Out of memory (OOM kill)"
    HOST_UNREACHABLE = "host_unreachable", "Host unreachable"
    GATEWAY_DOWN = "gateway_down", "Gateway down"
    TEST = "test", "Test"


class ChannelKind(models.TextChoices):
    WEBHOOK = "webhook", "Webhook (JSON POST)"
    EMAIL = "email", "E-mail"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class AlertChannel(models.Model):
    """A webhook URL (stored encrypted: chat webhooks carry their token in the URL) or e-mail addresses."""

    workspace = models.ForeignKey("deployments.Workspace", on_delete=models.CASCADE, related_name="alert_channels")
    name = models.CharField(max_length=63)
    kind = models.CharField(max_length=8, choices=ChannelKind.choices)
    url = EncryptedTextField(blank=True, default="")
    emails = models.TextField(blank=True, default="", help_text="comma-separated addresses")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "name"], name="unique_alert_channel_name")]
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def target_hint(self) -> str:
        """Where it goes, for people: the webhook's scheme and host only (its path may hold a token)."""
        if self.kind == ChannelKind.EMAIL:
            return self.emails
        scheme, _, rest = self.url.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/…" if rest else "****"


class AlertIncident(models.Model):
    workspace = models.ForeignKey("deployments.Workspace", null=True, on_delete=models.CASCADE, related_name="+")
    service = models.ForeignKey("deployments.Service", null=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    message = models.TextField()
    opened_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["kind", "closed_at"])]
        ordering = ["-opened_at"]


class AlertDelivery(models.Model):
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries")
    incident = models.ForeignKey(AlertIncident, null=True, on_delete=models.CASCADE, related_name="deliveries")
    kind = models.CharField(max_length=20, choices=AlertKind.choices)
    subject = models.CharField(max_length=255)
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=8, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        ordering = ["-created_at", "-id"]


class AlertCursor(models.Model):
    """The last Event the dispatcher has looked at (one row), so every event is considered exactly once."""

    last_event_id = models.BigIntegerField(default=0)
