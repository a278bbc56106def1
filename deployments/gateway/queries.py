"""Reads of traffic samples for the API, the console charts and /metrics."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.utils import timezone

from deployments.models import Instance, Service
from deployments.models.gateway import TrafficSample

POINT_FIELDS = (
    "at", "seconds", "requests", "responses_1xx", "responses_2xx", "responses_3xx", "responses_4xx", "responses_5xx",
    "responses_other", "bytes_in", "bytes_out", "in_flight", "latency_avg_ms", "latency_p50_ms", "latency_p95_ms",
    "latency_p99_ms", "cpu_percent", "memory_mb", "instance",
)  # fmt: skip


def _point(row: dict) -> dict:
    seconds = row["seconds"] or 1.0
    return {
        "at": row["at"].isoformat(),
        "seconds": seconds,
        "requests": row["requests"],
        "qps": round(row["requests"] / seconds, 3),
        "responses": {c: row[f"responses_{c}"] for c in ("1xx", "2xx", "3xx", "4xx", "5xx", "other")},
        "bytes_in": row["bytes_in"],
        "bytes_out": row["bytes_out"],
        "in_flight": row["in_flight"],
        "latency_ms": {p: row[f"latency_{p}_ms"] for p in ("avg", "p50", "p95", "p99")},
        "cpu_percent": row["cpu_percent"],
        "memory_mb": row["memory_mb"],
    }


def _totals(points: list[dict]) -> dict:
    requests = sum(p["requests"] for p in points)
    timed = [(p["latency_ms"]["avg"], p["requests"]) for p in points if p["latency_ms"]["avg"] is not None]
    weight = sum(n for _, n in timed)
    p95s = [p["latency_ms"]["p95"] for p in points if p["latency_ms"]["p95"] is not None]
    return {
        "requests": requests,
        "responses": {c: sum(p["responses"][c] for p in points) for c in ("1xx", "2xx", "3xx", "4xx", "5xx", "other")},
        "bytes_in": sum(p["bytes_in"] for p in points),
        "bytes_out": sum(p["bytes_out"] for p in points),
        "latency_avg_ms": round(sum(a * n for a, n in timed) / weight, 3) if weight else None,
        "latency_p95_ms_max": max(p95s) if p95s else None,  # the worst interval: percentiles do not add up
    }


def service_traffic(*, service: Service, minutes: int = 60) -> dict:
    """The service's samples of the last `minutes`: a series for the service and one per instance."""
    since = timezone.now() - timedelta(minutes=minutes)
    rows = TrafficSample.objects.filter(service=service, at__gte=since).order_by("at", "id").values(*POINT_FIELDS)
    series: list[dict] = []
    instances: dict[str, list[dict]] = {}
    for row in rows:
        (instances.setdefault(row["instance"], []) if row["instance"] else series).append(_point(row))
    return {
        "service": service.name,
        "minutes": minutes,
        "interval_seconds": settings.BERTH_GATEWAY_METRICS_INTERVAL,
        "since": since.isoformat(),
        "totals": _totals(series),
        "series": series,
        "instances": {
            name: {"totals": _totals(points), "series": points} for name, points in sorted(instances.items())
        },
    }


def prometheus_text() -> str:
    """The console's own metrics in Prometheus' text format (version 0.0.4)."""
    lines: list[str] = []

    def family(name: str, kind: str, help_text: str, samples: list[tuple[dict, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            rendered = ",".join(f'{k}="{_escape(str(v))}"' for k, v in sorted(labels.items()))
            lines.append(f"{name}{{{rendered}}} {value}" if rendered else f"{name} {value}")

    by_status = Service.objects.values("status").annotate(n=Count("id")).order_by("status")
    family("berth_services", "gauge", "Services by status.", [({"status": r["status"]}, r["n"]) for r in by_status])
    instances = Instance.objects.values("status").annotate(n=Count("id"), ready=Count("id", filter=Q(ready=True)))
    family("berth_instances", "gauge", "Instances by status.", [({"status": r["status"]}, r["n"]) for r in instances])
    family("berth_instances_ready", "gauge", "Instances that pass their readiness check.",
           [({}, sum(r["ready"] for r in instances))])  # fmt: skip

    # The latest sample of each service: gateway traffic as the gateway last saw it.
    latest = {}
    recent = timezone.now() - timedelta(seconds=max(60, 3 * settings.BERTH_GATEWAY_METRICS_INTERVAL))
    for row in (
        TrafficSample.objects.filter(instance="", at__gte=recent)
        .order_by("service_id", "-at")
        .values("service__name", "service_id", "requests", "seconds", "in_flight", "latency_avg_ms", "latency_p95_ms")
    ):
        latest.setdefault(row["service_id"], row)
    rows = sorted(latest.values(), key=lambda r: r["service__name"])
    family("berth_gateway_requests_per_second", "gauge", "Requests per second over the last sample interval.",
           [({"service": r["service__name"]}, round(r["requests"] / (r["seconds"] or 1), 3)) for r in rows])  # fmt: skip
    family("berth_gateway_in_flight", "gauge", "Requests in progress at the gateway.",
           [({"service": r["service__name"]}, r["in_flight"]) for r in rows])  # fmt: skip
    family("berth_gateway_latency_p95_seconds", "gauge", "95th percentile latency over the last sample interval.",
           [({"service": r["service__name"]}, r["latency_p95_ms"] / 1000) for r in rows if r["latency_p95_ms"] is not None])  # fmt: skip
    totals = (
        TrafficSample.objects.filter(instance="")
        .values("service__name")
        .annotate(**{f"c{c}": Sum(f"responses_{c}") for c in ("1xx", "2xx", "3xx", "4xx", "5xx", "other")})
        .order_by("service__name")
    )
    family("berth_gateway_responses", "counter",
           "Responses by status class within the retention window (resets as old samples expire).",
           [({"service": r["service__name"], "class": c}, r[f"c{c}"] or 0) for r in totals
            for c in ("1xx", "2xx", "3xx", "4xx", "5xx", "other")])  # fmt: skip
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')
