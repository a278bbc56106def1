"""The gateway's table: traffic samples written by the gateway controller (deployments/gateway/metrics.py).

One row per service (instance == "") and per instance every BERTH_GATEWAY_METRICS_INTERVAL
seconds; rows older than BERTH_GATEWAY_METRICS_RETENTION_HOURS are deleted by the controller.
Counts are per interval (not cumulative), so a chart is a plain series and a sum is a total.
"""

from django.db import models


class TrafficSample(models.Model):
    service = models.ForeignKey("deployments.Service", on_delete=models.CASCADE, related_name="traffic_samples")
    instance = models.CharField(max_length=200, blank=True, default="", help_text="empty for the whole service")
    at = models.DateTimeField(help_text="end of the interval")
    seconds = models.FloatField(help_text="length of the interval")
    requests = models.PositiveIntegerField(default=0)
    responses_1xx = models.PositiveIntegerField(default=0)
    responses_2xx = models.PositiveIntegerField(default=0)
    responses_3xx = models.PositiveIntegerField(default=0)
    responses_4xx = models.PositiveIntegerField(default=0)
    responses_5xx = models.PositiveIntegerField(default=0)
    responses_other = models.PositiveIntegerField(default=0)
    bytes_in = models.BigIntegerField(default=0)
    bytes_out = models.BigIntegerField(default=0)
    in_flight = models.PositiveIntegerField(default=0, help_text="requests in progress or queued at the end")
    latency_avg_ms = models.FloatField(null=True, blank=True)
    latency_p50_ms = models.FloatField(null=True, blank=True)
    latency_p95_ms = models.FloatField(null=True, blank=True)
    latency_p99_ms = models.FloatField(null=True, blank=True)
    cpu_percent = models.FloatField(null=True, blank=True, help_text="of one core: 200 = two cores busy")
    memory_mb = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["service", "at"]), models.Index(fields=["at"])]

    def __str__(self) -> str:
        return f"{self.service_id}/{self.instance or '*'} @ {self.at:%H:%M:%S}: {self.requests} requests"
