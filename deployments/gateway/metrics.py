"""Traffic samples: HAProxy's counters and request log, plus Docker's CPU and memory.

Counts (requests by status class, bytes, in-flight) come from `show stat`, which is
exact under any load. Latency percentiles need single requests, so HAProxy sends one
short log line per request (backend, server, status, time; never a URL or a header)
to a UNIX datagram socket the controller reads. Under very high load the kernel may
drop datagrams: percentiles are then computed from a sample, counts stay exact.
"""

from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path

from django.db import IntegrityError, close_old_connections

from deployments.choices import InstanceStatus
from deployments.engine import hosts
from deployments.gateway.haproxy import HAProxyError, RuntimeAPI
from deployments.gateway.render import BACKEND_PREFIX
from deployments.models import Instance, Service
from deployments.models.gateway import TrafficSample

log = logging.getLogger(__name__)

COUNTERS = ("hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx", "hrsp_other", "bin", "bout")


def percentile(values: list[float], fraction: float) -> float | None:
    """Nearest-rank percentile of a list (sorted or not)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(fraction * len(ordered)) - 1))
    return float(ordered[rank])


class LogReader:
    """Binds the UNIX datagram socket HAProxy logs to and keeps request durations per (backend, server)."""

    MAX_PER_KEY = 20000  # enough for p99 over an interval; bounds memory under a flood

    def __init__(self, path: Path):
        self.path = path
        self.lock = threading.Lock()
        self.latencies: dict[tuple[str, str], list[int]] = defaultdict(list)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if path.exists() or path.is_socket():
            path.unlink()
        self.sock.bind(str(path))
        os.chmod(path, 0o600)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 * 1024 * 1024)
        self.thread = threading.Thread(target=self._run, name="gateway-log", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            self.record(data.decode(errors="replace"))

    def record(self, line: str) -> None:
        # "<backend> <server> <status> <Ta ms> <bytes out> <bytes in>"
        parts = line.split()
        if len(parts) < 4 or not parts[0].startswith(BACKEND_PREFIX) or parts[1].startswith("<"):
            return
        try:
            status, active = int(parts[2]), int(parts[3])
        except ValueError:
            return
        if status == 101 or active < 0:  # a WebSocket's duration is its lifetime, not a latency
            return
        with self.lock:
            values = self.latencies[(parts[0], parts[1])]
            if len(values) < self.MAX_PER_KEY:
                values.append(active)

    def take(self) -> dict[tuple[str, str], list[int]]:
        with self.lock:
            taken, self.latencies = self.latencies, defaultdict(list)
        return taken

    def close(self) -> None:
        self.sock.close()


@dataclass
class Window:
    """Everything measured for one service or instance over one interval."""

    requests: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    in_flight: int = 0
    latencies: list[int] = field(default_factory=list)


def counter_deltas(previous: dict[str, int] | None, current: dict[str, int]) -> dict[str, int]:
    """Per-interval deltas. A server or backend seen for the first time counts from zero (HAProxy
    creates it with zero counters, and HAProxy is this process's child); a counter that went
    down was reset (a reload starts a new worker)."""
    if previous is None:
        return dict(current)
    if any(current[k] < previous.get(k, 0) for k in current):
        return dict(current)
    return {k: current[k] - previous.get(k, 0) for k in current}


def cpu_memory(stats: dict) -> tuple[float | None, float | None]:
    """CPU (% of one core) and memory (MB, without page cache) from one Docker stats reading."""
    if not stats:
        return None, None
    cpu = stats.get("cpu_stats") or {}
    pre = stats.get("precpu_stats") or {}
    cpu_percent = None
    try:
        cpu_delta = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
        system_delta = cpu["system_cpu_usage"] - pre["system_cpu_usage"]
        cpus = cpu.get("online_cpus") or len(cpu["cpu_usage"].get("percpu_usage") or []) or 1
        if system_delta > 0 and cpu_delta >= 0:
            cpu_percent = round(cpu_delta / system_delta * cpus * 100.0, 2)
    except (KeyError, TypeError):
        pass
    memory = stats.get("memory_stats") or {}
    memory_mb = None
    if "usage" in memory:
        detail = memory.get("stats") or {}
        cache = detail.get("inactive_file", detail.get("total_inactive_file", detail.get("cache", 0)))
        memory_mb = round(max(0, memory["usage"] - cache) / (1024 * 1024), 2)
    return cpu_percent, memory_mb


class TrafficCollector:
    """Writes TrafficSample rows every `interval` seconds (runs in its own thread)."""

    def __init__(self, api: RuntimeAPI, logs: LogReader, *, interval: float, retention_hours: int):
        self.api = api
        self.logs = logs
        self.interval = interval
        self.retention = timedelta(hours=retention_hours)
        self.previous: dict[tuple[str, str], dict[str, int]] = {}
        self.last_at: float | None = None
        self.last_prune = 0.0
        self.pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="docker-stats")
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="gateway-metrics", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                self.sample()
            except Exception:  # keep sampling: one bad pass must not stop metrics
                log.exception("traffic sample failed")
            finally:
                close_old_connections()

    def read_windows(self) -> dict[tuple[str, str], Window]:
        """(backend, server or "") -> Window, from HAProxy's counters and the log since the last call."""
        rows = self.api.show_stat()
        latencies = self.logs.take()
        windows: dict[tuple[str, str], Window] = {}
        for row in rows:
            backend, server = row["pxname"], row["svname"]
            if not backend.startswith(BACKEND_PREFIX) or server == "FRONTEND":
                continue
            key = (backend, "" if server == "BACKEND" else server)
            current = {name: int(row.get(name) or 0) for name in COUNTERS}
            deltas = counter_deltas(self.previous.get(key), current)
            self.previous[key] = current
            window = Window(
                requests=sum(deltas[name] for name in COUNTERS[:6]),
                counts=deltas,
                in_flight=int(row.get("scur") or 0) + int(row.get("qcur") or 0),
            )
            if key[1]:
                window.latencies = latencies.get(key, [])
            windows[key] = window
        for (backend, server), values in latencies.items():  # the backend's latency is all its servers'
            if (backend, "") in windows:
                windows[(backend, "")].latencies.extend(values)
        return windows

    def sample(self) -> int:
        """Take one sample and write its rows; returns how many rows were written."""

        now = time.time()
        seconds = now - self.last_at if self.last_at else float(self.interval)
        self.last_at = now
        try:
            windows = self.read_windows()
        except HAProxyError as exc:
            log.warning("no traffic sample: %s", exc)
            return 0
        services = dict(
            Service.objects.filter(name__in={b[len(BACKEND_PREFIX) :] for b, _ in windows}).values_list("name", "id")
        )
        instances = {
            f"i{i.pk}": i
            for i in Instance.objects.filter(service_id__in=services.values(), status=InstanceStatus.RUNNING)
            .exclude(container_id="")
            .select_related("host")
        }
        usage = self._docker_usage(instances.values())
        at = datetime.fromtimestamp(now, tz=dt_timezone.utc)
        samples = []
        for (backend, server), window in windows.items():
            service_id = services.get(backend[len(BACKEND_PREFIX) :])
            instance = instances.get(server) if server else None
            if service_id is None or (server and instance is None):
                continue  # gone since: its last partial interval is dropped
            counts = window.counts
            latencies = window.latencies
            cpu, memory = usage.get(instance.pk, (None, None)) if instance else (None, None)
            samples.append(
                TrafficSample(
                    service_id=service_id,
                    instance=instance.name if instance else "",
                    at=at,
                    seconds=round(seconds, 3),
                    requests=window.requests,
                    responses_1xx=counts["hrsp_1xx"],
                    responses_2xx=counts["hrsp_2xx"],
                    responses_3xx=counts["hrsp_3xx"],
                    responses_4xx=counts["hrsp_4xx"],
                    responses_5xx=counts["hrsp_5xx"],
                    responses_other=counts["hrsp_other"],
                    bytes_in=counts["bin"],
                    bytes_out=counts["bout"],
                    in_flight=window.in_flight,
                    latency_avg_ms=round(sum(latencies) / len(latencies), 3) if latencies else None,
                    latency_p50_ms=percentile(latencies, 0.50),
                    latency_p95_ms=percentile(latencies, 0.95),
                    latency_p99_ms=percentile(latencies, 0.99),
                    cpu_percent=cpu,
                    memory_mb=memory,
                )
            )
        try:
            TrafficSample.objects.bulk_create(samples)
        except IntegrityError:  # a service deleted since the read above: keep the others' rows
            alive = set(Service.objects.filter(pk__in={s.service_id for s in samples}).values_list("pk", flat=True))
            samples = [s for s in samples if s.service_id in alive]
            TrafficSample.objects.bulk_create(samples)
        if now - self.last_prune > 60:
            self.last_prune = now
            TrafficSample.objects.filter(at__lt=at - self.retention).delete()
        return len(samples)

    def _docker_usage(self, instances) -> dict[int, tuple[float | None, float | None]]:
        def read(instance):
            try:
                return instance.pk, cpu_memory(hosts.host_runtime(instance.host).stats(instance.container_id))
            except Exception as exc:  # a host that does not answer leaves gaps, not errors
                log.debug("stats of %s: %s", instance.name, exc)
                return instance.pk, (None, None)

        futures = [self.pool.submit(read, i) for i in instances if i.host is not None]
        result = {}
        for future in futures:
            try:
                pk, values = future.result(timeout=max(5.0, self.interval))
                result[pk] = values
            except Exception:
                continue
        return result
