"""The prober: one long-running process that probes every instance from outside, like a kubelet.

HTTP GET and TCP connect go to the instance's published port on its host address;
`exec` goes through the runtime's exec API. EAS semantics: wait
`initial_delay_seconds`, probe every `period_seconds` with `timeout_seconds`;
`success_threshold` passes in a row make an instance ready (or started, for
startup_check), `failure_threshold` failures in a row take it out of traffic (or
restart it, for liveness_check). No check configured means a TCP check on `port`.
The prober writes readiness to the DB; nothing else in Berth decides it.
"""

import http.client
import logging
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from django.db import close_old_connections
from django.db.models import F
from django.utils import timezone

from deployments import heartbeats, wakeups
from deployments.choices import InstanceStatus
from deployments.engine import hosts, tasks
from deployments.engine.containers import main_container
from deployments.engine.status import service_refresh_status
from deployments.engine.versions import version_config
from deployments.events import event_record
from deployments.models import Instance, ServiceVersion

log = logging.getLogger(__name__)

DEFAULTS = {"initial_delay_seconds": 3, "period_seconds": 3, "timeout_seconds": 1, "success_threshold": 1, "failure_threshold": 3}


@dataclass
class Tracker:
    """Consecutive results of one probe of one instance."""

    next_due: float
    successes: int = 0
    failures: int = 0


@dataclass
class InstanceProbes:
    started_at: float
    trackers: dict[str, Tracker] = field(default_factory=dict)


def probe_config(config: dict, kind: str) -> dict | None:
    """The probe of `kind` for the main container; readiness defaults to TCP on `port`.

    (The spec has already turned a `readiness_check` alias into `health_check`.)"""
    main = main_container(config)
    probe = main.get(kind)
    if kind == "health_check":
        probe = probe or {"tcp_socket": {"port": main.get("port")}}
    return {**DEFAULTS, **probe} if probe else None


def run_probe(probe: dict, *, address: str, host_port: int, runtime, container_id: str) -> bool:
    """One probe attempt: True when it passes."""
    timeout = float(probe["timeout_seconds"])
    try:
        if "http_get" in probe:
            http_get = probe["http_get"] or {}
            conn_class = http.client.HTTPSConnection if str(http_get.get("scheme", "")).upper() == "HTTPS" else http.client.HTTPConnection
            conn = conn_class(address, host_port, timeout=timeout)
            try:
                conn.request("GET", http_get.get("path") or "/", headers={"User-Agent": "berth-prober"})
                return 200 <= conn.getresponse().status < 400
            finally:
                conn.close()
        if "exec" in probe:
            command = (probe["exec"] or {}).get("command") or []
            return runtime.exec(container_id, list(command), timeout=timeout) == 0
        with socket.create_connection((address, host_port), timeout=timeout) as conn:
            # docker-proxy accepts on the published port even when nothing listens in the container,
            # then closes at once: a connection that ends immediately is a failure, one that stays
            # open (or sends a banner) is a pass.
            conn.settimeout(min(0.2, timeout))
            try:
                return conn.recv(1, socket.MSG_PEEK) != b""
            except socket.timeout:
                return True
    except (OSError, http.client.HTTPException):
        return False


class Prober:
    def __init__(self, *, tick: float = 0.2, workers: int = 32):
        self.tick = tick
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="probe")
        self.state: dict[int, InstanceProbes] = {}
        self.configs: dict[int, dict] = {}
        self.waiter = wakeups.Waiter("prober")

    def run_forever(self) -> None:
        log.info("prober started")
        while True:
            heartbeats.beat("prober")
            try:
                self.run_once()
            except Exception:  # keep probing: one bad pass must not stop health checking
                log.exception("probe pass failed")
                close_old_connections()
            self.waiter.wait(self.tick)  # the engine wakes us when it starts an instance

    def run_once(self) -> None:
        instances = list(
            Instance.objects.filter(status=InstanceStatus.RUNNING, host__isnull=False, host_port__isnull=False).select_related("host")
        )
        live = {i.pk for i in instances}
        for gone in set(self.state) - live:
            del self.state[gone]
        now = time.monotonic()
        jobs = []
        for instance in instances:
            config = self._config(instance.version_id)
            if config is None:
                continue
            tracked = self.state.get(instance.pk)
            if tracked is None or (instance.started_at and tracked.started_at != instance.started_at.timestamp()):
                tracked = self.state[instance.pk] = InstanceProbes(started_at=instance.started_at.timestamp() if instance.started_at else 0)
            kinds = ["startup_check"] if not instance.started else ["health_check", "liveness_check"]
            for kind in kinds:
                probe = probe_config(config, kind)
                if probe is None:
                    continue
                tracker = tracked.trackers.get(kind)
                if tracker is None:
                    # The initial delay counts from the container's start, not from this pass.
                    since_start = time.time() - tracked.started_at if tracked.started_at else 0.0
                    delay = max(0.0, float(probe["initial_delay_seconds"]) - since_start)
                    tracker = tracked.trackers[kind] = Tracker(next_due=now + delay)
                if tracker.next_due > now:
                    continue
                tracker.next_due = now + float(probe["period_seconds"])
                runtime = hosts.host_runtime(instance.host)
                future = self.pool.submit(
                    run_probe, probe, address=instance.node_address or instance.host.address, host_port=instance.host_port, runtime=runtime,
                    container_id=instance.container_id,
                )
                jobs.append((instance, kind, probe, tracker, future))
        for instance, kind, probe, tracker, future in jobs:
            self._record(instance, kind, probe, tracker, future.result())
        close_old_connections()

    def _config(self, version_id: int) -> dict | None:
        if version_id not in self.configs:

            version = ServiceVersion.objects.filter(pk=version_id).first()
            if version is None:
                return None
            self.configs[version_id] = version_config(version)
        return self.configs[version_id]

    def _record(self, instance: Instance, kind: str, probe: dict, tracker: Tracker, passed: bool) -> None:
        if passed:
            tracker.successes, tracker.failures = tracker.successes + 1, 0
        else:
            tracker.successes, tracker.failures = 0, tracker.failures + 1
        changed = False
        if kind == "startup_check" and tracker.successes >= int(probe["success_threshold"]):
            changed = Instance.objects.filter(pk=instance.pk, started=False).update(started=True) > 0
        elif kind == "startup_check" and tracker.failures >= int(probe["failure_threshold"]):
            self._restart(instance, "startup check failed")
        elif kind == "health_check":
            if not instance.ready and tracker.successes >= int(probe["success_threshold"]):
                changed = Instance.objects.filter(pk=instance.pk, status=InstanceStatus.RUNNING).update(ready=True) > 0
                instance.ready = True
                if changed:
                    event_record(service=instance.service, reason="Ready", message=f"{instance.name} passed its health check", instance=instance.name)
            elif instance.ready and tracker.failures >= int(probe["failure_threshold"]):
                changed = Instance.objects.filter(pk=instance.pk).update(ready=False) > 0
                instance.ready = False
                event_record(
                    service=instance.service, reason="Unhealthy", message=f"{instance.name} failed its health check; out of traffic",
                    warning=True, instance=instance.name,
                )
        elif kind == "liveness_check" and tracker.failures >= int(probe["failure_threshold"]):
            self._restart(instance, "liveness check failed")
            changed = True
        if changed:


            service_refresh_status(service_id=instance.service_id)
            wakeups.wake("gateway")  # route (or unroute) it now, not at the controller's next tick
            tasks.service_converge_task.delay(instance.service_id)

    def _restart(self, instance: Instance, why: str) -> None:
        event_record(service=instance.service, reason="Restarted", message=f"{instance.name}: {why}; restarting", warning=True, instance=instance.name)

        Instance.objects.filter(pk=instance.pk).update(
            ready=False, started=False, restarts=F("restarts") + 1, started_at=timezone.now()
        )
        restarted = hosts.host_runtime(instance.host).restart(instance.container_id, grace_seconds=1)
        if restarted:
            Instance.objects.filter(pk=instance.pk).update(host_port=restarted.host_port)
        self.state.pop(instance.pk, None)
