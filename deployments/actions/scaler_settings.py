"""Where a service's `autoscaler` and `cronscaler` settings are kept: a ServiceScaler row, not a version.

Like `metadata.instance`, they are part of the config a user reads and writes, but changing them
must not roll containers, so `service_create` / `service_update` hand them here and
`service_config` reads them back. Callers own the transaction.
"""

from django.utils import timezone

from deployments.models import Service, ServiceScaler

KEYS = ("autoscaler", "cronscaler")


def scaler_settings_save(*, service: Service, config: dict) -> bool:
    """Store the canonical config's `autoscaler` / `cronscaler` (absent = none). Returns True if either changed.

    A new or changed cronscaler restarts its history: jobs that fired before now do not count.
    """
    scaler = ServiceScaler.objects.filter(service=service).first()
    autoscaler, cronscaler = config.get("autoscaler"), config.get("cronscaler")
    if scaler is None:
        if autoscaler is None and cronscaler is None:
            return False
        scaler = ServiceScaler(service=service)
    if scaler.pk and scaler.autoscaler == autoscaler and scaler.cronscaler == cronscaler:
        return False
    if scaler.cronscaler != cronscaler:
        now = timezone.now()
        scaler.cronscaler_since = now if cronscaler is not None else None
        scaler.cron_checked_at = now if cronscaler is not None else None
        scaler.cron_runs = {}
    scaler.autoscaler, scaler.cronscaler = autoscaler, cronscaler
    scaler.save()
    return True


def scaler_settings_into(*, config: dict, service: Service) -> dict:
    """Put the stored settings into `config` (in place, and returned)."""
    scaler = ServiceScaler.objects.filter(service=service).first()
    for key in KEYS:
        config.pop(key, None)
        value = getattr(scaler, key) if scaler else None
        if value is not None:
            config[key] = value
    return config
