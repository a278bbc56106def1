"""The actor that runs the autoscaler and the cron scaler: one step per service with a scaler, every second.

A step (`scaler_step`) reads the service's settings (ServiceScaler), runs the cron jobs due since
the last step (each run is recorded with its time, state and message, and an Event), collects an
Observation through the metric collectors, loads the ScalerState from Redis, calls the pure
`decide` with the cron floor, stores the new state and, when the count changes, scales the service
as the "autoscaler" actor with an Event that carries the numbers.

Rules (docs/autoscaling.md, "Integration"):
* Never during a rollout: a service that is Creating, Updating, Starting, Stopping, Stopped,
  Deleting, Failed or not deployed is not scaled (the step still records its cron runs, as failures).
* A manual scale sets the current count; the autoscaler decides from it at its next step, within
  min..max, so with an autoscaler the count is the autoscaler's. Change min/max instead.
* With only a cronscaler, a job sets the count when it fires; a manual scale holds until the next job.

The clock and the metric collection are parameters, so tests drive steps with a fake clock.
"""

import json
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from deployments.actions import lifecycle
from deployments.autoscaling import cron
from deployments.autoscaling.decide import Decision, Floor, Observation, ScalerState, decide
from deployments.autoscaling.policy import Policy, parse_autoscaler
from deployments.choices import DeploymentKind, InstanceStatus, ServiceStatus
from deployments.engine import hosts
from deployments.events import event_record
from deployments.gateway.metrics import cpu_memory
from deployments.gateway.rates import service_qps
from deployments.locks import redis_client
from deployments.models import Instance, Service, ServiceScaler

log = logging.getLogger(__name__)

ACTOR = "autoscaler"
# Statuses in which the count may change: anything else is a rollout, a stop or a failure in progress.
SCALABLE = frozenset({ServiceStatus.RUNNING, ServiceStatus.SCALING, ServiceStatus.WAITING})
HISTORY = 1800  # steps kept for the console's chart (30 min at one step a second)

# --- metric collectors: metric name → (service, policy, current count) → samples, or None = unknown ---

Collector = Callable[[Service, int], list[float] | None]
COLLECTORS: dict[str, Collector] = {}


def register_collector(metric: str, collector: Collector) -> None:
    """Make `metric` observable (the autoscaling.metrics registry says how samples become one number)."""
    COLLECTORS[metric] = collector


def _qps(service: Service, current: int) -> list[float] | None:
    rate = service_qps(service.name)
    return None if rate is None else [rate]  # one service-wide total: `share` divides it by the instances


_pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="scaler-stats")


def _cpu(service: Service, current: int) -> list[float] | None:
    """Each running instance's CPU as a % of the cores it requested (metadata.cpu, else one core)."""
    config = (service.current_version.config if service.current_version else {}) or {}
    cores = float((config.get("metadata") or {}).get("cpu") or 1)
    instances = list(
        Instance.objects.filter(service=service, status=InstanceStatus.RUNNING, host__isnull=False)
        .exclude(container_id="")
        .select_related("host")
    )

    def read(instance: Instance) -> float | None:
        try:
            percent, _ = cpu_memory(hosts.host_runtime(instance.host).stats(instance.container_id))
        except Exception as exc:  # a host that does not answer is a missing sample, not an error
            log.debug("stats of %s: %s", instance.name, exc)
            return None
        return None if percent is None else percent / cores

    values = [v for v in _pool.map(read, instances, timeout=5) if v is not None]
    return values or None


register_collector("qps", _qps)
register_collector("cpu", _cpu)


def observe(service: Service, policy: Policy, current: int) -> Observation:
    """An Observation of every metric the policy uses that has a collector; others are missing."""
    samples = {}
    for strategy in policy.strategies:
        collector = COLLECTORS.get(strategy.metric)
        values = collector(service, current) if collector else None
        if values:
            samples[strategy.metric] = values
    requests = samples["qps"][0] if "qps" in samples else service_qps(service.name)
    return Observation(current=current, samples=samples, requests=requests)


# --- state and history in Redis ---------------------------------------------------------------


def _key(service_id: int, part: str) -> str:
    return f"berth:scaler:{service_id}:{part}"


def state_load(service_id: int) -> ScalerState:
    raw = redis_client().get(_key(service_id, "state"))
    return ScalerState.from_json(json.loads(raw)) if raw else ScalerState()


def scaler_history(service_id: int, limit: int = HISTORY) -> list[dict]:
    """The last steps, oldest first: {"at", "instances", "desired", "metrics": {name: per instance}, "message"}."""
    rows = redis_client().lrange(_key(service_id, "history"), 0, limit - 1)
    return [json.loads(row) for row in reversed(rows)]


def _remember(service_id: int, at: float, decision: Decision) -> None:
    entry = {
        "at": at,
        "instances": decision.current,
        "desired": decision.desired,
        "metrics": {r.metric: round(r.value, 3) for r in decision.readings},
        "message": decision.message,
    }
    pipe = redis_client().pipeline()
    pipe.set(_key(service_id, "state"), json.dumps(decision.state.to_json()), ex=86400)
    pipe.lpush(_key(service_id, "history"), json.dumps(entry))
    pipe.ltrim(_key(service_id, "history"), 0, HISTORY - 1)
    pipe.expire(_key(service_id, "history"), 86400)
    pipe.execute()


def scaler_forget(service_id: int) -> None:
    """Drop the decision state and history (the autoscaler was removed)."""
    redis_client().delete(_key(service_id, "state"), _key(service_id, "history"))


# --- scaling as the autoscaler ----------------------------------------------------------------


def service_autoscale(*, service_id: int, expected: int, desired: int, reason: str, message: str) -> bool:
    """Set the instance count to `desired` as the "autoscaler" actor, if the service is still at `expected`
    and in a scalable status. Records the Event and enqueues the scale after commit. Returns whether it scaled.

    Not `service_patch`: that checks a person's write access, and the autoscaler acts for the service itself.
    """
    with transaction.atomic():
        locked = Service.objects.select_for_update().filter(pk=service_id).first()
        if locked is None or locked.status not in SCALABLE or locked.instance != expected:
            return False  # a rollout, a stop or a person got there first: decide again next step
        locked.instance = desired
        locked.status = ServiceStatus.SCALING
        locked.message = ""
        locked.save(update_fields=["instance", "status", "message", "updated_at"])
        event_record(service=locked, reason=reason, message=message, actor=ACTOR)
        lifecycle.deployment_enqueue_on_commit(service=locked, kind=DeploymentKind.SCALE, actor=None)
    return True


# --- one step -----------------------------------------------------------------------------------

Observe = Callable[[Service, Policy, int], Observation]


def scaler_step(*, service: Service, now: datetime | None = None, observe: Observe = observe) -> Decision | None:
    """One step for one service (see the module docstring). Returns the autoscaler's decision, if it has one."""
    now = now or timezone.now()
    scaler = ServiceScaler.objects.filter(service=service).first()
    if scaler is None:
        return None
    scalable = service.status in SCALABLE
    floor, fired = _cron_step(service, scaler, now, scalable)
    policy = parse_autoscaler(scaler.autoscaler).policy if scaler.autoscaler else None
    if not scalable:
        return None
    if policy is None:
        if fired is not None and fired.job.target != service.instance:
            message = f"cron job '{fired.job.name}' sets {fired.job.target}: {service.instance} → {fired.job.target}"
            service_autoscale(
                service_id=service.pk, expected=service.instance, desired=fired.job.target,
                reason="CronScaled", message=message,
            )  # fmt: skip
        return None
    decision = decide(
        policy, observe(service, policy, service.instance), state_load(service.pk), now.timestamp(), floor
    )
    _remember(service.pk, now.timestamp(), decision)
    if decision.changed:
        service_autoscale(
            service_id=service.pk, expected=decision.current, desired=decision.desired,
            reason="Autoscaled", message=decision.message,
        )  # fmt: skip
    return decision


def _cron_step(
    service: Service, scaler: ServiceScaler, now: datetime, scalable: bool
) -> tuple[Floor | None, cron.Fire | None]:
    """Record the cron jobs due since the last step; returns (the floor in force, the last job that fired now)."""
    settings = cron.parse_cronscaler(scaler.cronscaler).cronscaler if scaler.cronscaler else None
    if settings is None:
        return None, None
    checked = scaler.cron_checked_at or scaler.cronscaler_since or now
    fires = cron.due(settings, checked, now) if now > checked else []
    for fire in fires:
        if scalable:
            state, message = "success", f"target size {fire.job.target}"
        else:
            state, message = "failure", f"not applied: the service is {service.status}"
        scaler.cron_runs[fire.job.name] = {"last_run": fire.at.isoformat(), "state": state, "message": message}
        event_record(
            service=service, reason="CronJob", warning=not scalable, actor=ACTOR,
            message=f"cron job '{fire.job.name}' ({fire.job.schedule}) ran: {message}",
        )  # fmt: skip
    ServiceScaler.objects.filter(pk=scaler.pk).update(cron_checked_at=now, cron_runs=scaler.cron_runs)
    return cron.floor_at(settings, now, since=scaler.cronscaler_since), (fires[-1] if fires else None)


def scaler_tick(*, now: datetime | None = None) -> int:
    """A step for every deployed service that has a scaler; one service's failure never stops the others.
    Returns how many services were stepped."""
    stepped = 0
    ids = ServiceScaler.objects.exclude(autoscaler__isnull=True, cronscaler__isnull=True).values_list(
        "service_id", flat=True
    )
    for service in Service.objects.filter(pk__in=list(ids)).select_related("current_version"):
        try:
            scaler_step(service=service, now=now)
            stepped += 1
        except Exception:
            log.exception("autoscaler step for %s failed", service.name)
    return stepped
