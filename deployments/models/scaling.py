"""A service's scalers: the autoscaler and cronscaler settings, kept outside versions, and the cron jobs' runs.

The settings are the config form (what a service config holds under `autoscaler` / `cronscaler`);
like `Service.instance` they are not part of a `ServiceVersion`, so changing them never rolls
containers. The per-step decision state (recommendations, idleness) lives in Redis: it changes
every second and losing it only restarts the stabilisation windows.
"""

from django.db import models

from deployments.models.services import Service


class ServiceScaler(models.Model):
    service = models.OneToOneField(Service, on_delete=models.CASCADE, related_name="scaler")
    autoscaler = models.JSONField(null=True, blank=True, help_text="config form; null = no autoscaler")
    cronscaler = models.JSONField(null=True, blank=True, help_text="config form; null = no cronscaler")
    # Jobs that fired before this instant do not count (cron.floor_at's `since`).
    cronscaler_since = models.DateTimeField(null=True, blank=True)
    # Job name → {"last_run": ISO time, "state": "success"|"failure"|"skipped", "message": str}.
    cron_runs = models.JSONField(default=dict, blank=True)
    # Up to when the actor has looked for due cron jobs (the next look covers (checked, now]).
    cron_checked_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"scalers of {self.service_id}"
