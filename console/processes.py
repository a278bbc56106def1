"""Berth's process set: the one description `make run` (supervisord) and production (systemd) start.

Each `Process` names a long-running program and its command line as a template. The
placeholders are filled per target by `Layout`: `make run` fills them with this checkout's
paths and the current settings (console/supervise.py), `manage.py deploy_units` with the
production paths of docs/operations.md (console/units.py). Nothing else lists the processes,
so the two targets cannot start different things.

External processes (Redis, dockerd) are real, unmodified components: `make run` starts one
only when none answers; production uses the distribution's own units for them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Process:
    name: str
    description: str
    # Command line with {python} {base} {var} {bind} {redis_host} {redis_port} {docker_socket} {teardown_queue} placeholders.
    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)
    # Started by `make run` only when none answers; never a systemd unit of ours.
    external: bool = False
    # Writes a heartbeat to Redis (deployments/heartbeats.py); /healthz?full=1 expects it to be fresh.
    heartbeat: bool = False
    # Needs the Docker socket (production: SupplementaryGroups=docker).
    docker: bool = False
    # Binds the gateway's ports (production: CAP_NET_BIND_SERVICE, for ports below 1024).
    binds_ports: bool = False
    # Seconds between SIGTERM and SIGKILL when stopping.
    stop_wait: int = 15


PYTHON_ENV = {"PYTHONUNBUFFERED": "1"}  # prompt logs through a pipe or the journal

PROCESSES: tuple[Process, ...] = (
    Process(
        name="redis",
        description="Redis (broker, locks, heartbeats), AOF persistence on",
        argv=(
            "redis-server",
            "--port",
            "{redis_port}",
            "--bind",
            "{redis_host}",
            "--dir",
            "{var}/redis/{redis_port}",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--save",
            "",
        ),
        external=True,
    ),
    Process(
        name="dockerd",
        description="Docker engine (the local host)",
        argv=("dockerd", "-H", "unix://{docker_socket}"),
        external=True,
        stop_wait=30,
    ),
    Process(
        name="web",
        description="console UI and REST API (gunicorn)",
        argv=(
            "{python}",
            "-m",
            "gunicorn",
            "console.wsgi",
            "--bind",
            "{bind}",
            "--workers",
            "3",
            "--access-logfile",
            "-",
        ),
        env=PYTHON_ENV,
        docker=True,  # image checks and /healthz?full=1 ask the Docker hosts
    ),
    Process(
        name="worker",
        description="Celery worker: deploy, modify, scale, stop, start, delete",
        argv=("{python}", "-m", "celery", "-A", "console", "worker", "--loglevel", "INFO", "--concurrency", "2"),
        env=PYTHON_ENV,
        heartbeat=True,
        docker=True,
        stop_wait=60,  # a warm shutdown lets running tasks finish
    ),
    Process(
        name="reaper",
        description="Celery worker for teardowns (stop, delete, scale down): grace periods never starve deploys",
        argv=(
            "{python}",
            "-m",
            "celery",
            "-A",
            "console",
            "worker",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "-Q",
            "{teardown_queue}",
            "-n",
            "teardown@%h",
        ),
        env=PYTHON_ENV,
        docker=True,
        stop_wait=60,
    ),
    Process(
        name="beat",
        description="Celery beat: reconcile, metrics rollup, autoscaler",
        argv=(
            "{python}",
            "-m",
            "celery",
            "-A",
            "console",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            "{var}/celerybeat-schedule",
        ),
        env=PYTHON_ENV,
        heartbeat=True,
    ),
    Process(
        name="prober",
        description="health checks of every instance; writes readiness to the DB",
        argv=("{python}", "{base}/manage.py", "prober"),
        env=PYTHON_ENV,
        heartbeat=True,
        docker=True,  # exec checks go through the Docker API
    ),
    Process(
        name="gateway",
        description="gateway controller: runs HAProxy and keeps it current",
        argv=("{python}", "{base}/manage.py", "gateway"),
        env=PYTHON_ENV,
        heartbeat=True,
        binds_ports=True,
        stop_wait=30,
    ),
)


def own() -> tuple[Process, ...]:
    """Berth's own processes, in start order."""
    return tuple(p for p in PROCESSES if not p.external)


def for_run(*, redis: bool, dockerd: bool) -> list[Process]:
    """What `make run` supervises: Berth's own processes, plus Redis and dockerd when asked (none answered)."""
    wanted = {"redis": redis, "dockerd": dockerd}
    return [p for p in PROCESSES if not p.external or wanted.get(p.name, False)]


def heartbeat_names() -> tuple[str, ...]:
    """The processes /healthz?full=1 expects a fresh heartbeat from."""
    return tuple(p.name for p in PROCESSES if p.heartbeat)


def get(name: str) -> Process:
    return next(p for p in PROCESSES if p.name == name)


def command(process: Process, values: dict[str, str]) -> list[str]:
    """`process.argv` with its placeholders filled from `values` (a missing one is a KeyError)."""
    return [part.format(**values) for part in process.argv]
