"""A scratch Berth engine for the benchmarks: dockerd, Redis, a Celery worker and the prober on a fresh
SQLite database, torn down (with every container it labelled) on exit.

Import this module before anything of Django's: it sets the environment the settings read.
"""

import os
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = Path(tempfile.mkdtemp(prefix="berth-bench-"))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "BERTH_SQLITE_PATH": str(SCRATCH / "bench.sqlite3"),
        "BERTH_INSTALLATION": f"bench-{os.getpid()}",
        "BERTH_RECONCILE_INTERVAL": "5",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
    }
)

from tests import stack  # noqa: E402

PREFIX = f"b{os.getpid() % 100000}_"
INSTALLATION = os.environ["BERTH_INSTALLATION"]
# The health check both sides use: TCP, no initial delay, period 1 s, one success.
CHECK = {"tcp_socket": {"port": 8000}, "initial_delay_seconds": 0, "period_seconds": 1, "timeout_seconds": 1,
         "success_threshold": 1, "failure_threshold": 3}  # fmt: skip
SCRIPT = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8000 -h /www"


def config(name: str, image: str, instance: int = 2) -> dict:
    return {
        "name": PREFIX + name,
        "containers": [{"image": image, "script": SCRIPT, "port": 8000, "health_check": CHECK}],
        "metadata": {"instance": instance, "memory": 32, "eas": {"termination_grace_period": 1}},
    }


@contextmanager
def engine(*, worker_concurrency: int = 2):
    """Yields (user, workspace, image) with a worker and a prober running against a registered local host."""
    dockerd = stack.start_dockerd()
    redis_proc, redis_url = stack.start_redis()
    os.environ["REDIS_URL"] = os.environ["CELERY_BROKER_URL"] = redis_url
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from deployments.actions import hosts as host_actions
    from deployments.actions import workspaces

    call_command("migrate", "--noinput", "-v0")
    image = stack.busybox_image()
    env = {**os.environ}
    worker_args = ["-m", "celery", "-A", "console", "worker", "--concurrency", str(worker_concurrency)]
    worker = stack.start_manage("bench-worker", [*worker_args, "--loglevel", "WARNING"], env)
    prober = stack.start_manage("bench-prober", ["manage.py", "prober"], env)
    try:
        user = get_user_model().objects.create_superuser("bench", password="bench-password-1")
        workspace = workspaces.workspace_current_ensure(user=user)
        host_actions.host_register(name="local", url="unix:///var/run/docker.sock", address="127.0.0.1")
        yield user, workspace, image
    finally:
        stack.stop(prober)
        stack.stop(worker)
        import docker

        client = docker.from_env()
        for label in (f"berth.installation={INSTALLATION}", f"berth.bench={PREFIX}"):
            for c in client.containers.list(all=True, filters={"label": label}):
                c.remove(force=True)
        stack.stop(redis_proc)
        stack.stop(dockerd)


def wait_running(names: list[str], timeout: float) -> float:
    """Seconds until every named service is Running (polled every 10 ms); exits on a failure."""
    import time

    from deployments.models import Service

    start = time.perf_counter()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = dict(Service.objects.filter(name__in=names).values_list("name", "status"))
        failed = [n for n, s in rows.items() if s == "Failed"]
        if failed:
            raise SystemExit(f"failed: {failed}")
        if len(rows) == len(names) and all(s == "Running" for s in rows.values()):
            return time.perf_counter() - start
        time.sleep(0.01)
    raise SystemExit(f"timed out waiting for {len(names)} services")
