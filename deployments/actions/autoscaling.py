"""A service's autoscaler and cron scaler settings: describe, set, delete (the `/autoscaler` and
`/cronscaler` endpoints, the console panel, `berth autoscale` / `berth cronscale`).

Setting either goes through `service_update` with the rest of the config unchanged, so the same
access checks and validation apply, and the settings are stored beside the version, not in it:
no rollout (actions/scaler_settings.py).
"""

from django.db import transaction

from deployments.access import check_can_write
from deployments.actions import services
from deployments.actions.scaler_step import scaler_forget, scaler_history
from deployments.autoscaling.cron import parse_cronscaler, upcoming
from deployments.autoscaling.policy import api_to_config, config_to_api
from deployments.errors import ConfigInvalid
from deployments.events import actor_name, event_record
from deployments.models import Service, ServiceScaler


def autoscaler_describe(*, service: Service) -> dict | None:
    """The API form with every behaviour value in force, plus `currentMetrics` (per instance, from the
    last step) and `lastDecision`; None when the service has no autoscaler."""
    scaler = ServiceScaler.objects.filter(service=service).first()
    if scaler is None or scaler.autoscaler is None:
        return None
    body = config_to_api(scaler.autoscaler, service_name=service.name)
    last = scaler_history(service.pk, limit=1)
    body["currentMetrics"] = [
        {"metricName": name, "value": value, "service": service.name}
        for name, value in (last[0]["metrics"].items() if last else [])
    ]
    body["lastDecision"] = {"at": last[0]["at"], "message": last[0]["message"]} if last else None
    return body


def cronscaler_describe(*, service: Service) -> dict | None:
    """The stored cronscaler with each job's last run (`LastProbeTime`, `State`, `Message`), as EAS's Describe."""
    scaler = ServiceScaler.objects.filter(service=service).first()
    if scaler is None or scaler.cronscaler is None:
        return None
    jobs = []
    for job in scaler.cronscaler.get("ScaleJobs", []):
        run = scaler.cron_runs.get(job.get("Name"), {})
        jobs.append(
            {
                **job,
                "CreateTime": scaler.cronscaler_since.isoformat() if scaler.cronscaler_since else None,
                "LastProbeTime": run.get("last_run"),
                "State": run.get("state"),
                "Message": run.get("message", ""),
            }
        )
    parsed = parse_cronscaler(scaler.cronscaler).cronscaler
    nxt = upcoming(parsed, scaler.cron_checked_at or scaler.cronscaler_since) if parsed else None
    return {
        "ScaleJobs": jobs,
        "ExcludeDates": scaler.cronscaler.get("ExcludeDates", []),
        "NextRun": {"Name": nxt.job.name, "At": nxt.at.isoformat()} if nxt else None,
    }


def _replace(*, actor, service: Service, key: str, value: dict | None) -> Service:
    check_can_write(user=actor, workspace=service.workspace)
    config = services.service_config(service=service, reveal_secrets=True)
    if value is None:
        config.pop(key, None)
    else:
        config[key] = value
    with transaction.atomic():
        service, _, _ = services.service_update(actor=actor, service=service, config=config)
        what = "set" if value is not None else "removed"
        event_record(
            service=service, reason=f"{key.capitalize()}Changed", message=f"{key} {what}", actor=actor_name(actor)
        )
    return service


def autoscaler_set(*, actor, service: Service, body: object) -> dict:
    """Set the autoscaler from its API form (or the config form). Raises ConfigInvalid with paths relative to
    the body, or Forbidden. No rollout; returns the description."""
    form, errors = api_to_config(body, service_name=service.name)
    if errors:
        raise ConfigInvalid(errors)
    service = _replace(actor=actor, service=service, key="autoscaler", value=form)
    return autoscaler_describe(service=service)


def autoscaler_delete(*, actor, service: Service) -> None:
    """Remove the autoscaler; the instance count stays where it is. Safe to repeat."""
    service = _replace(actor=actor, service=service, key="autoscaler", value=None)
    transaction.on_commit(lambda: scaler_forget(service.pk))


def cronscaler_set(*, actor, service: Service, body: object) -> dict:
    """Set the cron scaler (`{"ScaleJobs": [...], "ExcludeDates": [...]}`). Jobs count from now on."""
    parsed = parse_cronscaler(body, at=())
    if parsed.errors:
        raise ConfigInvalid(parsed.errors)
    service = _replace(actor=actor, service=service, key="cronscaler", value=body)
    return cronscaler_describe(service=service)


def cronscaler_delete(*, actor, service: Service) -> None:
    """Remove the cron scaler; the instance count stays where it is. Safe to repeat."""
    _replace(actor=actor, service=service, key="cronscaler", value=None)
