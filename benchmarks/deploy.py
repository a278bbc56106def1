"""Deploy engine speed, as ratios against plain docker SDK calls measured in the same run.

Run: .venv/bin/python benchmarks/deploy.py [--rounds 5] [--services 20] [--reconcile-services 100]
Needs root (it starts dockerd if none answers) and redis-server; it starts its own Redis,
Celery worker and prober on a scratch SQLite database, and removes what it made.

Goals (issue 3):
- create → Running for 2 instances (TCP check, initial delay 0, period 1, success 1):
  overhead over the same steps done with the docker SDK ≤ 0.5 s median;
- 20 services created at once all reach Running;
- a reconcile pass over 100 services × 2 instances ≤ 1 s.
"""

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

from deployments.actions import hosts as host_actions
from deployments.actions import services, workspaces
from deployments.engine.reconcile import reconcile_pass

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = Path(tempfile.mkdtemp(prefix="berth-bench-"))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "BERTH_SQLITE_PATH": str(SCRATCH / "bench.sqlite3"),
        "BERTH_INSTALLATION": f"bench-{os.getpid()}",
        "BERTH_RECONCILE_INTERVAL": "5",
    }
)

from tests import stack  # noqa: E402

PREFIX = f"b{os.getpid() % 100000}_"
CHECK = {
    "tcp_socket": {"port": 8000},
    "initial_delay_seconds": 0,
    "period_seconds": 1,
    "timeout_seconds": 1,
    "success_threshold": 1,
    "failure_threshold": 3,
}
SCRIPT = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8000 -h /www"


def config(name: str, image: str, instance: int = 2) -> dict:
    return {
        "name": PREFIX + name,
        "containers": [{"image": image, "script": SCRIPT, "port": 8000, "health_check": CHECK}],
        "metadata": {"instance": instance, "memory": 32, "eas": {"termination_grace_period": 1}},
    }


def tcp_ready(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def plain_sdk_round(image: str, n: int) -> float:
    """The baseline: create and start 2 containers with the SDK, poll TCP until both answer."""
    import docker

    client = docker.from_env()
    start = time.perf_counter()
    containers = [
        client.containers.run(
            image,
            entrypoint=["/bin/sh", "-c", SCRIPT],
            detach=True,
            name=f"{PREFIX}plain-{n}-{i}",
            ports={"8000/tcp": ("127.0.0.1", None)},
            mem_limit="32m",
            labels={"berth.bench": PREFIX},
        )
        for i in range(2)
    ]
    ports = []
    for c in containers:
        c.reload()
        ports.append(int(c.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]))
    while not all(tcp_ready(p) for p in ports):
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    for c in containers:
        c.remove(force=True)
    return elapsed


def wait_running(names: list[str], timeout: float) -> float:
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
        time.sleep(0.02)
    raise SystemExit(f"timed out waiting for {len(names)} services")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--reconcile-services", type=int, default=100)
    args = parser.parse_args()

    dockerd = stack.start_dockerd()
    redis_proc, redis_url = stack.start_redis()
    os.environ["REDIS_URL"] = os.environ["CELERY_BROKER_URL"] = redis_url
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from deployments.models import Service

    call_command("migrate", "--noinput", "-v0")
    image = stack.busybox_image()
    env = {**os.environ}
    worker = stack.start_manage(
        "bench-worker", ["-m", "celery", "-A", "console", "worker", "--concurrency", "2", "--loglevel", "WARNING"], env
    )
    prober = stack.start_manage("bench-prober", ["manage.py", "prober", "--tick", "0.05"], env)
    try:
        user = get_user_model().objects.create_superuser("bench", password="bench-password-1")
        workspace = workspaces.workspace_current_ensure(user=user)
        host_actions.host_register(name="local", url="unix:///var/run/docker.sock", address="127.0.0.1")
        # Warm both paths once (image cache, worker imports).
        plain_sdk_round(image, 0)
        services.service_create(actor=user, workspace=workspace, config=config("warm", image))
        wait_running([PREFIX + "warm"], 60)

        plain, berth = [], []
        for n in range(args.rounds):
            plain.append(plain_sdk_round(image, n + 1))
            name = f"round{n}"
            start = time.perf_counter()
            services.service_create(actor=user, workspace=workspace, config=config(name, image))
            wait_running([PREFIX + name], 60)
            berth.append(time.perf_counter() - start)
        p, b = statistics.median(plain), statistics.median(berth)
        print(f"create -> Running, 2 instances, median of {args.rounds}:")
        print(f"  plain docker SDK   {p * 1000:8.0f} ms")
        print(
            f"  Berth              {b * 1000:8.0f} ms   ratio {b / p:4.2f}x   overhead {b - p:+.2f} s (goal <= 0.5 s: {'met' if b - p <= 0.5 else 'MISSED'})"
        )

        names = [PREFIX + f"burst{i}" for i in range(args.services)]
        start = time.perf_counter()
        for name in names:
            services.service_create(actor=user, workspace=workspace, config=config(name[len(PREFIX) :], image))
        wait_running(names, 300)
        total = time.perf_counter() - start
        print(
            f"{args.services} services created at once: all Running after {total:.1f} s "
            f"({total / (p * args.services):.2f}x the plain SDK time for as many, done one by one)"
        )

        existing = Service.objects.filter(name__startswith=PREFIX).count()
        extra = [PREFIX + f"rec{i}" for i in range(max(0, args.reconcile_services - existing))]
        for name in extra:
            services.service_create(actor=user, workspace=workspace, config=config(name[len(PREFIX) :], image))
        wait_running(list(Service.objects.filter(name__startswith=PREFIX).values_list("name", flat=True)), 600)
        count = Service.objects.filter(name__startswith=PREFIX).count()
        import docker

        baseline = []
        for _ in range(5):
            t = time.perf_counter()
            docker.from_env().api.containers(
                all=True, filters={"label": [f"berth.installation={os.environ['BERTH_INSTALLATION']}"]}
            )
            baseline.append(time.perf_counter() - t)
        passes = []
        for _ in range(5):
            t = time.perf_counter()
            reconcile_pass()
            passes.append(time.perf_counter() - t)
        r, listing = statistics.median(passes), statistics.median(baseline)
        print(
            f"reconcile pass over {count} services x 2 instances: {r * 1000:.0f} ms median "
            f"(one docker list call: {listing * 1000:.0f} ms; ratio {r / listing:.1f}x; goal <= 1 s: {'met' if r <= 1 else 'MISSED'})"
        )
    finally:
        stack.stop(prober)
        stack.stop(worker)
        import docker

        client = docker.from_env()
        for c in client.containers.list(
            all=True, filters={"label": f"berth.installation={os.environ['BERTH_INSTALLATION']}"}
        ):
            c.remove(force=True)
        for c in client.containers.list(all=True, filters={"label": f"berth.bench={PREFIX}"}):
            c.remove(force=True)
        stack.stop(redis_proc)
        stack.stop(dockerd)


if __name__ == "__main__":
    main()
