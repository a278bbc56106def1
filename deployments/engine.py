"""The deploy engine: converge a service's actual containers towards its desired state.

`service_converge` is the one step function. It is called by the deploy task, by the
reconcile pass and whenever the prober flips an instance's readiness; it never
sleeps waiting for health: it does what can be done now and returns. A per-service
Redis lock keeps two workers (or a worker and reconcile) from converging one
service at the same time, so repeating a step is always harmless.
"""

import base64
import contextvars
import logging
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import redis
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Sum
from django.utils import timezone

from deployments import spec, storage
from deployments.choices import (
    DeploymentStatus,
    EventType,
    HostStatus,
    InstanceStatus,
    ServiceStatus,
)
from deployments.containers import PREPARE_MISSING_PYTHON, instance_containers, instance_name, main_container
from deployments.models import Deployment, DockerHost, Event, Instance, Service, ServiceVersion
from deployments.runtime import LABEL_INSTALLATION, LABEL_INSTANCE, LABEL_ROLE, LABEL_SERVICE, RegistryAuth, RuntimeError_
from deployments.runtime.docker import DockerRuntime, registry_of

log = logging.getLogger(__name__)

# Restarts of a never-ready instance after which it counts as failed.
CRASH_LIMIT = 3
# Stopped services, failed ones and those being deleted keep no instances.
ZERO_INSTANCE_STATES = {ServiceStatus.STOPPING, ServiceStatus.STOPPED, ServiceStatus.DELETING}


# --- plumbing --------------------------------------------------------------------------------


_redis = None


def redis_client():
    global _redis
    if _redis is None:
        _redis = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=5, socket_timeout=10)
    return _redis


_held_lock: contextvars.ContextVar = contextvars.ContextVar("berth_held_lock", default=None)


@contextmanager
def service_lock(service_id: int, *, wait: float = 0):
    """Hold the service's convergence lock; yields False when another process holds it.

    The lock expires after BERTH_CONVERGE_LOCK_TIMEOUT so that a worker killed mid-step
    does not block the service for long; long steps call `lock_keepalive()` to renew it.
    """
    lock = redis_client().lock(
        f"berth:converge:{service_id}", timeout=settings.BERTH_CONVERGE_LOCK_TIMEOUT, blocking_timeout=wait or None
    )
    acquired = lock.acquire(blocking=wait > 0)
    token = _held_lock.set(lock if acquired else None)
    try:
        yield acquired
    finally:
        _held_lock.reset(token)
        if acquired:
            try:
                lock.release()
            except redis.exceptions.LockError:
                pass  # expired while we worked; the next holder starts from Docker's state anyway


def lock_keepalive() -> None:
    """Renew the convergence lock this step holds (before a pull or a container start)."""
    lock = _held_lock.get()
    if lock is not None:
        try:
            lock.reacquire()
        except redis.exceptions.LockError:
            pass


def event_record(
    *, service: Service, reason: str, message: str, warning: bool = False, instance: str = "", actor: str = "system"
) -> Event:
    return Event.objects.create(
        service=service,
        type=EventType.WARNING if warning else EventType.NORMAL,
        reason=reason,
        message=message,
        instance_name=instance,
        actor=actor,
    )


def host_runtime(host: DockerHost) -> DockerRuntime:
    """The runtime for a host; TLS client material is written to 0600 files the SDK can read."""
    if not host.tls_cert:
        return DockerRuntime(host.url)
    directory = Path(settings.BASE_DIR) / "var" / "tls" / host.name
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    paths = {}
    for field in ("ca", "cert", "key"):
        pem = getattr(host, f"tls_{field}")
        if pem:
            path = directory / f"{field}.pem"
            path.touch(mode=0o600, exist_ok=True)
            path.write_text(pem)
            paths[f"{field}_path"] = str(path)
    return DockerRuntime(host.url, tls=paths)


def host_refresh(*, host: DockerHost) -> DockerHost:
    """Read capacity from the engine and record a heartbeat (or the reason it is unreachable)."""
    try:
        info = host_runtime(host).info()
    except RuntimeError_ as exc:
        DockerHost.objects.filter(pk=host.pk).exclude(status=HostStatus.DRAINING).update(
            status=HostStatus.UNREACHABLE, message=str(exc)
        )
        host.refresh_from_db()
        return host
    updates = {"cpus": info.cpus, "memory_mb": info.memory_bytes // (1024 * 1024), "last_heartbeat": timezone.now(), "message": ""}
    DockerHost.objects.filter(pk=host.pk).update(**updates)
    DockerHost.objects.filter(pk=host.pk, status=HostStatus.UNREACHABLE).update(status=HostStatus.READY)
    host.refresh_from_db()
    return host


def host_pick(*, cpu: float, memory_mb: int) -> DockerHost | None:
    """A ready host with room for one more instance (most free memory first), or None."""
    hosts = DockerHost.objects.filter(status=HostStatus.READY).annotate(
        used_cpu=Sum("instances__cpu", filter=~Q(instances__status=InstanceStatus.TERMINATING), default=0),
        used_mem=Sum("instances__memory_mb", filter=~Q(instances__status=InstanceStatus.TERMINATING), default=0),
    )
    fitting = [
        h for h in hosts if h.cpus - h.used_cpu >= cpu - 1e-9 and h.memory_mb - h.used_mem >= memory_mb
    ]
    fitting.sort(key=lambda h: (-(h.memory_mb - h.used_mem), h.name))
    return fitting[0] if fitting else None


def registry_auth_for(*, service: Service, config: dict, image: str) -> RegistryAuth | None:
    """Credentials for pulling `image`: the config's dockerAuth, the named saved credential, or the
    workspace credential whose registry matches the image's."""
    if config.get("dockerAuth"):
        user, _, password = base64.b64decode(config["dockerAuth"]).decode().partition(":")
        return RegistryAuth(user, password)
    credentials = service.workspace.registry_credentials
    named = (config.get("berth") or {}).get("registry_credential")
    credential = credentials.filter(name=named).first() if named else credentials.filter(registry=registry_of(image)).first()
    return RegistryAuth(credential.username, credential.password) if credential else None


def version_config(version: ServiceVersion) -> dict:
    """A version's config with secrets in clear (for the worker only)."""
    return spec.join_secrets(version.config, version.secrets)


def rolling_limits(config: dict, desired: int) -> tuple[int, int]:
    """(max_surge, max_unavailable) as instance counts; defaults 1 and 0."""
    strategy = (config.get("metadata") or {}).get("rolling_strategy") or {}

    def resolve(value, default):
        if value is None:
            return default
        if isinstance(value, str) and value.endswith("%"):
            return int(desired * float(value[:-1]) / 100)
        return int(value)

    surge, unavailable = resolve(strategy.get("max_surge"), 1), resolve(strategy.get("max_unavailable"), 0)
    if surge == 0 and unavailable == 0:
        surge = 1  # otherwise the rollout could never move
    return surge, unavailable


def pinned_tag(image: str) -> bool:
    """True for references with a tag other than latest, or a digest."""
    if "@" in image:
        return True
    last = image.rsplit("/", 1)[-1]
    return ":" in last and not last.endswith(":latest")


def grace_period(config: dict) -> int:
    return int(((config.get("metadata") or {}).get("eas") or {}).get("termination_grace_period", 30))


# --- instance actions ------------------------------------------------------------------------


def _free_ordinal(service: Service, version: ServiceVersion) -> int:
    used = set(Instance.objects.filter(service=service, version=version).values_list("ordinal", flat=True))
    ordinal = 0
    while ordinal in used:
        ordinal += 1
    return ordinal


def instance_start(*, service: Service, version: ServiceVersion, pulled: dict) -> Instance | None:
    """Place, pull and start one new instance of `version`. Returns it, or None when no host has room
    (the service then waits with that reason). A start failure leaves a Failed instance row."""
    config = version_config(version)
    metadata = config.get("metadata") or {}
    cpu, memory = float(metadata.get("cpu") or 0), int(metadata.get("memory") or 0)
    host = host_pick(cpu=cpu, memory_mb=memory)
    if host is None:
        message = f"no host has room for an instance with cpu {cpu:g} and memory {memory} MB"
        if service.message != message:
            Service.objects.filter(pk=service.pk).update(message=message)
            event_record(service=service, reason="Unschedulable", message=message, warning=True)
        return None
    ordinal = _free_ordinal(service, version)
    instance = Instance.objects.create(
        service=service,
        version=version,
        host=host,
        ordinal=ordinal,
        name=instance_name(service.name, version.number, ordinal),
        cpu=cpu,
        memory_mb=memory,
        status=InstanceStatus.CREATING,
        reason="ContainerCreating",
    )
    runtime = host_runtime(host)
    containers = instance_containers(
        config=config,
        service_name=service.name,
        workspace=service.workspace.slug,
        version=version.number,
        ordinal=ordinal,
        bind_address=host.address,
    )
    try:
        volume_mounts = storage.prepare_mounts(
            runtime=runtime, host=host, service=service, version=version, config=config, instance_name=instance.name
        )
        for container in containers:
            container.mounts = volume_mounts + container.mounts
        for index, container in enumerate(containers):
            lock_keepalive()
            key = (host.pk, container.image)
            if key not in pulled:
                _phase(service, "pulling")
                image_id = version.image_ids.get(container.image)
                if image_id and runtime.image_has(image_id):
                    pulled[key] = image_id
                elif pinned_tag(container.image) and runtime.image_has(container.image):
                    # Kubernetes' IfNotPresent: a tagged (not :latest) image already on the host is used as is.
                    pulled[key] = runtime.image_id(container.image)
                else:
                    auth = registry_auth_for(service=service, config=config, image=container.image)
                    pulled[key] = runtime.pull(container.image, auth)
                if not image_id:
                    # The first id resolved for a version is the one a rollback re-applies.
                    version.image_ids = {**version.image_ids, container.image: pulled[key]}
                    ServiceVersion.objects.filter(pk=version.pk).update(image_ids=version.image_ids)
            _phase(service, "creating")
            container.image = pulled[key]
            state = runtime.start(container)
            if index == 0:
                Instance.objects.filter(pk=instance.pk).update(
                    container_id=state.id,
                    host_port=state.host_port,
                    status=InstanceStatus.RUNNING,
                    reason="Running",
                    started_at=timezone.now(),
                    started=not main_container(config).get("startup_check"),
                )
    except RuntimeError_ as exc:
        Instance.objects.filter(pk=instance.pk).update(status=InstanceStatus.FAILED, reason=exc.reason, message=str(exc))
        event_record(service=service, reason=exc.reason, message=str(exc), warning=True, instance=instance.name)
        instance.refresh_from_db()
        return instance
    _phase(service, "starting")
    event_record(service=service, reason="Started", message=f"started {instance.name} on host {host.name}", instance=instance.name)
    instance.refresh_from_db()
    return instance


def instance_remove(*, instance: Instance, grace_seconds: int) -> None:
    """Take an instance out of traffic, stop it (SIGTERM, then SIGKILL after the grace) and forget it."""
    Instance.objects.filter(pk=instance.pk).update(status=InstanceStatus.TERMINATING, ready=False)
    if instance.host:
        runtime = host_runtime(instance.host)
        for state in runtime.list({LABEL_INSTANCE: instance.name}):
            if state.running:
                runtime.stop(state.id, grace_seconds=grace_seconds)
            runtime.remove(state.id)
        storage.instance_volumes_remove(runtime=runtime, instance_name=instance.name)
    Instance.objects.filter(pk=instance.pk).delete()


def _phase(service: Service, phase: str) -> None:
    Deployment.objects.filter(service=service, status=DeploymentStatus.RUNNING).update(phase=phase)


# --- convergence -----------------------------------------------------------------------------


def service_converge(*, service_id: int) -> bool:
    """One convergence step for a service. Safe to call any time, from anywhere, repeatedly.

    Returns False when another process holds the service's lock (it will do the work).
    """
    with service_lock(service_id) as acquired:
        if not acquired:
            return False
        service = Service.objects.select_related("workspace", "current_version").filter(pk=service_id).first()
        if service is None:
            return True
        _converge(service)
        return True


def _converge(service: Service) -> None:
    if service.status == ServiceStatus.FAILED:
        return  # waits for a person: modify, start or delete moves it on
    target = service.current_version
    desired = 0 if service.status in ZERO_INSTANCE_STATES or target is None else service.instance
    # Instances are only ever Creating inside a step holding this lock: one found now was left by a
    # worker that died mid-start. Remove it (and any container it got) and start afresh.
    for leftover in Instance.objects.filter(service=service, status=InstanceStatus.CREATING).select_related("host"):
        event_record(service=service, reason="Recovered", message=f"removing {leftover.name}, left half-made by a stopped worker", warning=True, instance=leftover.name)
        instance_remove(instance=leftover, grace_seconds=0)
    instances = list(Instance.objects.filter(service=service).select_related("host", "version").order_by("ordinal"))
    config = version_config(target) if target else {}
    grace = grace_period(config) if target else 30
    new = [i for i in instances if target and i.version_id == target.pk]
    old = [i for i in instances if not target or i.version_id != target.pk]
    pulled: dict = {}

    if desired == 0:
        for instance in instances:
            instance_remove(instance=instance, grace_seconds=grace_period(version_config(instance.version)))
        _finish_zero(service)
        return

    # A rollout whose new instances cannot start or never become ready fails; the old ones keep serving.
    if old and not target.failed and _rollout_failed(new):
        reason = _failure_reason(new)
        ServiceVersion.objects.filter(pk=target.pk).update(failed=True)
        target.failed = True
        event_record(service=service, reason="RolloutFailed", message=f"version {target.number} failed: {reason}", warning=True)
        _deployment_finish(service, ok=False, message=reason)
    if old and target.failed:
        for instance in new:
            instance_remove(instance=instance, grace_seconds=0)
        keep = _previous_good_version(old)
        Service.objects.filter(pk=service.pk).update(current_version=keep, status=ServiceStatus.RUNNING)
        service.current_version = keep
        service_refresh_status(service_id=service.pk)
        return

    # A create (or start) whose instances fail to start, or crash before ever being ready, fails the
    # service. Once it ran, a crash is restarted with back-off instead: the deployment is finished.
    deploying = Deployment.objects.filter(service=service, status=DeploymentStatus.RUNNING).exists()
    if not old and deploying and _rollout_failed(new) and not any(i.ready for i in new):
        reason = _failure_reason(new)
        with transaction.atomic():
            Service.objects.filter(pk=service.pk).update(status=ServiceStatus.FAILED, message=reason)
            event_record(service=service, reason="Failed", message=reason, warning=True)
            _deployment_finish(service, ok=False, message=reason)
        return

    surge, unavailable = rolling_limits(config, desired)
    # Crashed instances are restarted in place by reconcile (with back-off); they still count.
    live_new = [i for i in new if not (i.status == InstanceStatus.FAILED and i.reason != "CrashLoopBackOff")]
    # Scale down: drop the highest ordinals first.
    for instance in sorted(live_new, key=lambda i: -i.ordinal)[: max(0, len(live_new) - desired)]:
        instance_remove(instance=instance, grace_seconds=grace)
        live_new.remove(instance)
    # Start new instances within the surge budget.
    budget = desired + (surge if old else 0) - len(live_new) - len(old)
    missing = desired - len(live_new)
    for _ in range(max(0, min(missing, budget if old else missing))):
        started = instance_start(service=service, version=target, pulled=pulled)
        if started is None:
            break
        if started.status != InstanceStatus.FAILED:
            live_new.append(started)
    # Retire old instances while enough ready instances remain.
    ready_new = sum(1 for i in live_new if i.ready)
    for instance in sorted(old, key=lambda i: (i.ready, -i.ordinal)):
        ready_old = sum(1 for i in old if i.ready)
        # Removing an instance that serves nothing never reduces availability.
        if instance.ready and ready_new + ready_old - 1 < desired - unavailable:
            break
        instance_remove(instance=instance, grace_seconds=grace_period(version_config(instance.version)))
        old.remove(instance)
    service_refresh_status(service_id=service.pk)


def _rollout_failed(new: list[Instance]) -> bool:
    if not new:
        return False
    if any(i.status == InstanceStatus.FAILED and i.restarts == 0 and i.reason != "CrashLoopBackOff" for i in new):
        return True  # could not even start (pull, create)
    if any(i.restarts >= CRASH_LIMIT and not i.ready for i in new):
        return True
    deadline = timezone.now() - timedelta(seconds=settings.BERTH_ROLLOUT_TIMEOUT)
    return any(not i.ready and i.created_at < deadline for i in new)


def _failure_reason(new: list[Instance]) -> str:
    for instance in new:
        if instance.status == InstanceStatus.FAILED or instance.restarts:
            detail = instance.message or instance.reason
            if instance.last_state:
                code = instance.last_state.get("exitCode")
                logs = (instance.last_state.get("logs") or "").strip().splitlines()[-5:]
                detail = f"{instance.name} exited with code {code}" + (
                    " (OOMKilled)" if instance.last_state.get("oomKilled") else ""
                )
                if code == PREPARE_MISSING_PYTHON or logs:
                    detail += "; last log lines: " + " | ".join(logs)
            return detail
    return f"no instance became ready within {settings.BERTH_ROLLOUT_TIMEOUT}s: check the port and the health check"


def _previous_good_version(old: list[Instance]) -> ServiceVersion:
    return max((i.version for i in old), key=lambda v: v.number)


def _finish_zero(service: Service) -> None:
    if service.status == ServiceStatus.DELETING:
        for host in DockerHost.objects.all():
            try:
                runtime = host_runtime(host)
                mine = {LABEL_INSTALLATION: settings.BERTH_INSTALLATION, LABEL_SERVICE: service.name}
                for state in runtime.list(mine):
                    runtime.remove(state.id)
                runtime.remove_volumes(mine)
            except RuntimeError_ as exc:
                log.warning("cleanup of %s on %s failed: %s", service.name, host.name, exc)
        _deployment_finish(service, ok=True)
        service.delete()
        return
    with transaction.atomic():
        Service.objects.filter(pk=service.pk, status=ServiceStatus.STOPPING).update(status=ServiceStatus.STOPPED, message="")
        if service.status == ServiceStatus.STOPPING:
            event_record(service=service, reason="Stopped", message="all instances stopped")
        _deployment_finish(service, ok=True)


def _deployment_finish(service: Service, *, ok: bool, message: str = "") -> None:
    Deployment.objects.filter(service=service, status=DeploymentStatus.RUNNING).update(
        status=DeploymentStatus.SUCCEEDED if ok else DeploymentStatus.FAILED,
        phase="running" if ok else "failed",
        message=message,
        finished_at=timezone.now(),
    )


def service_counts(service: Service) -> dict:
    """EAS's counts: Total = desired instances, Running = ready instances of the current version."""
    total = 0 if service.status in ZERO_INSTANCE_STATES else service.instance
    running = Instance.objects.filter(service=service, version_id=service.current_version_id, ready=True).count()
    running = min(running, total)
    return {"total": total, "running": running, "pending": max(0, total - running)}


def service_refresh_status(*, service_id: int) -> None:
    """Derive the service status from its instances (called after every change in readiness)."""
    with transaction.atomic():
        service = Service.objects.select_for_update().filter(pk=service_id).first()
        if service is None or service.status in ZERO_INSTANCE_STATES or service.status == ServiceStatus.FAILED:
            return
        counts = service_counts(service)
        rolling = Instance.objects.filter(service=service).exclude(version_id=service.current_version_id).exists()
        if counts["running"] == counts["total"] and not rolling:
            if service.status != ServiceStatus.RUNNING:
                Service.objects.filter(pk=service.pk).update(status=ServiceStatus.RUNNING, message="")
                event_record(service=service, reason="Running", message=f"{counts['running']} of {counts['total']} instances ready")
            _deployment_finish(service, ok=True)
        elif rolling:
            Service.objects.filter(pk=service.pk).update(status=ServiceStatus.UPDATING)
        elif service.status not in (ServiceStatus.CREATING, ServiceStatus.SCALING, ServiceStatus.STARTING) or counts["running"] < counts["total"]:
            new_status = ServiceStatus.SCALING if service.status == ServiceStatus.SCALING else ServiceStatus.WAITING
            Service.objects.filter(pk=service.pk).update(status=new_status)
            _phase(service, "health")


# --- the deploy task's body ------------------------------------------------------------------


def deployment_execute(*, deployment_id: int) -> None:
    """Claim a queued deployment and run the first convergence step. Safe to run twice."""
    claimed = Deployment.objects.filter(pk=deployment_id, status=DeploymentStatus.QUEUED).update(
        status=DeploymentStatus.RUNNING, started_at=timezone.now(), phase="pulling"
    )
    deployment = Deployment.objects.filter(pk=deployment_id).select_related("service").first()
    if deployment is None:
        return
    if not claimed and deployment.status != DeploymentStatus.RUNNING:
        return  # already finished: a redelivered message
    # Redelivered while RUNNING (the worker died mid-step): converging again is exactly right.
    service_converge(service_id=deployment.service_id)


# --- reconcile -------------------------------------------------------------------------------


def reconcile_pass() -> dict:
    """Compare desired (DB) with actual (Docker labels) on every host: one list call per host.

    Restarts exited instances with back-off (recording exit code, OOMKilled and the last
    50 log lines), recreates missing ones, removes orphans. Returns counts for logging.
    """
    stats = {"hosts": 0, "restarted": 0, "orphans": 0, "converged": 0}
    for host in DockerHost.objects.exclude(status=HostStatus.DRAINING):
        host = host_refresh(host=host)
        if host.status == HostStatus.UNREACHABLE:
            continue
        stats["hosts"] += 1
        runtime = host_runtime(host)
        listed_at = timezone.now()
        try:
            states = runtime.list({LABEL_INSTALLATION: settings.BERTH_INSTALLATION})
        except RuntimeError_:
            continue
        # Read the DB after listing: a deploy step commits an Instance row before it creates the
        # container, so every container listed above whose row is missing here is a real orphan.
        known = {i.name: i for i in Instance.objects.filter(host=host).select_related("service", "version")}
        live_services = set(Service.objects.values_list("name", flat=True))
        seen = set()
        for state in states:
            instance_label = state.labels.get(LABEL_INSTANCE, "")
            instance = known.get(instance_label)
            if instance is None or state.labels.get(LABEL_SERVICE) not in live_services:
                if not _created_just_now(state):
                    runtime.remove(state.id)
                    stats["orphans"] += 1
                continue
            if state.labels.get(LABEL_ROLE) != "main":
                continue
            seen.add(instance.name)
            if not state.running and instance.status == InstanceStatus.RUNNING:
                _instance_crashed(instance=instance, runtime=runtime, container_id=state.id)
            elif not state.running and instance.status == InstanceStatus.FAILED and instance.reason == "CrashLoopBackOff":
                if instance.next_restart_at and instance.next_restart_at <= timezone.now():
                    restarted = runtime.restart(state.id, grace_seconds=1)
                    if restarted:
                        # A restart may publish the port on a different ephemeral host port.
                        Instance.objects.filter(pk=instance.pk).update(
                            status=InstanceStatus.RUNNING, reason="Running", started_at=timezone.now(), ready=False,
                            host_port=restarted.host_port,
                        )
                        stats["restarted"] += 1
        for instance in known.values():
            started_before_list = instance.started_at is not None and instance.started_at < listed_at
            if instance.name not in seen and instance.status == InstanceStatus.RUNNING and started_before_list:
                # The container vanished: forget the row so convergence creates a fresh one.
                event_record(service=instance.service, reason="Missing", message=f"container of {instance.name} is gone; recreating", warning=True, instance=instance.name)
                Instance.objects.filter(pk=instance.pk).delete()
    for service_id in services_needing_convergence():
        if service_converge(service_id=service_id):
            stats["converged"] += 1
    return stats


def services_needing_convergence() -> list[int]:
    """Services whose instances may not match what is desired, found with one query.

    A service converges when it is mid-change (an active status), when its live instance
    count differs from the desired count, or when any instance is failed or of another version.
    """
    odd_instances = Instance.objects.filter(service=OuterRef("pk")).filter(
        Q(status=InstanceStatus.FAILED) | ~Q(version=OuterRef("current_version"))
    )
    rows = (
        Service.objects.exclude(status__in=[ServiceStatus.NOT_DEPLOYED, ServiceStatus.STOPPED])
        .annotate(live=Count("instances"), odd=Exists(odd_instances))
        .values_list("pk", "status", "instance", "live", "odd")
    )
    return [
        pk
        for pk, status, desired, live, odd in rows
        if status != ServiceStatus.FAILED
        and (status != ServiceStatus.RUNNING or odd or live != desired)
    ]


def _created_just_now(state) -> bool:
    """A container a deploy step is creating right now has no Instance row visible to us yet."""
    return state.status == "created"


def _instance_crashed(*, instance: Instance, runtime, container_id: str) -> None:
    observed = runtime.inspect(container_id)
    logs = runtime.logs(container_id, tail=50)
    last_state = {
        "exitCode": observed.exit_code if observed else None,
        "oomKilled": bool(observed and observed.oom_killed),
        "reason": "OOMKilled" if observed and observed.oom_killed else "Error",
        "finishedAt": observed.finished_at if observed else None,
        "logs": logs,
    }
    delay = min(settings.BERTH_RESTART_BACKOFF * (2**instance.restarts), settings.BERTH_RESTART_BACKOFF_MAX)
    Instance.objects.filter(pk=instance.pk).update(
        status=InstanceStatus.FAILED,
        reason="CrashLoopBackOff",
        ready=False,
        restarts=F("restarts") + 1,
        last_state=last_state,
        message=f"exited with code {last_state['exitCode']}",
        next_restart_at=timezone.now() + timedelta(seconds=delay),
    )
    event_record(
        service=instance.service,
        reason="OOMKilled" if last_state["oomKilled"] else "Restarted",
        message=f"{instance.name} exited with code {last_state['exitCode']}; restarting in {delay}s",
        warning=True,
        instance=instance.name,
    )


def service_restart_execute(*, deployment_id: int) -> None:
    """Restart every instance's containers in place (SIGTERM, grace, start). Safe to repeat."""
    claimed = Deployment.objects.filter(pk=deployment_id, status=DeploymentStatus.QUEUED).update(
        status=DeploymentStatus.RUNNING, started_at=timezone.now(), phase="starting"
    )
    if not claimed:
        return
    deployment = Deployment.objects.select_related("service").get(pk=deployment_id)
    service = deployment.service
    with service_lock(service.pk, wait=30) as acquired:
        if not acquired:
            return
        for instance in Instance.objects.filter(service=service).select_related("host", "version"):
            if instance.host is None:
                continue
            grace = grace_period(version_config(instance.version))
            runtime = host_runtime(instance.host)
            Instance.objects.filter(pk=instance.pk).update(ready=False, started_at=timezone.now())
            for state in runtime.list({LABEL_INSTANCE: instance.name}):
                restarted = runtime.restart(state.id, grace_seconds=grace)
                if restarted and state.labels.get(LABEL_ROLE) == "main":
                    Instance.objects.filter(pk=instance.pk).update(host_port=restarted.host_port)
            event_record(service=service, reason="Restarted", message=f"restarted {instance.name}", instance=instance.name)
    service_refresh_status(service_id=service.pk)
