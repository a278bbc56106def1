"""Autoscaler reaction to a ×5 step load, against one instance's start time measured in the same run.

Run: .venv/bin/python benchmarks/autoscale.py [--target 4] [--hold 10]
Needs root (it starts dockerd if none answers) and redis-server, haproxy. It starts its own Redis,
Celery worker with beat (the autoscaler ticks every second), prober and gateway on a scratch SQLite
database, and removes what it made.

The service (the tests' python echo server) runs 1 instance with {"min": 1, "max": 5, "qps": target}.
Load through the gateway on loopback: `target` requests/s (in tolerance: no move), then ×5. Printed:
- one instance's start time (create → ready and routed), measured first;
- load step → the autoscaler's decision (Event), and → all 5 instances ready and routed;
- the scale-out's cost over one instance start (decision → ready, minus the instance start time);
- requests sent and lost (goal: 0 lost).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SCRATCH = Path(tempfile.mkdtemp(prefix="berth-bench-autoscale-"))
os.environ.update(
    {
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "BERTH_SQLITE_PATH": str(SCRATCH / "bench.sqlite3"),
        "BERTH_INSTALLATION": f"bench-{os.getpid()}",
        "BERTH_RECONCILE_INTERVAL": "5",
        "BERTH_AUTOSCALE_INTERVAL": "1",
    }
)

from tests import stack  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", type=float, default=4.0, help="qps per instance the autoscaler aims at")
    parser.add_argument("--hold", type=float, default=10.0, help="seconds of load at the target before the step")
    args = parser.parse_args()

    dockerd = stack.start_dockerd()
    redis_proc, redis_url = stack.start_redis()
    os.environ["REDIS_URL"] = os.environ["CELERY_BROKER_URL"] = redis_url
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from deployments.actions import autoscaling, services, workspaces
    from deployments.actions import hosts as host_actions
    from deployments.models import Event, Instance, Service
    from tests.deployments.autoscaling.load import PacedLoad
    from tests.fixtures_gateway import echo_config, python_image, start_gateway, wait_routed

    call_command("migrate", "--noinput", "-v0")
    image = python_image()
    env = {**os.environ}
    beat = str(SCRATCH / "beat-schedule")
    worker = stack.start_manage(
        "bench-as-worker",
        [
            "-m",
            "celery",
            "-A",
            "console",
            "worker",
            "-B",
            "--schedule",
            beat,
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
        ],
        env,
    )
    prober = stack.start_manage("bench-as-prober", ["manage.py", "prober", "--tick", "0.1"], env)
    gateway_proc, gateway = start_gateway(env, name=f"bench-as-{os.getpid()}")
    try:
        user = get_user_model().objects.create_superuser("bench", password="bench-password-1")
        workspace = workspaces.workspace_current_ensure(user=user)
        host_actions.host_register(name="local", url="unix:///var/run/docker.sock", address="127.0.0.1")
        config = echo_config(f"as{os.getpid() % 100000}", image, instance=1)
        config["name"] = "b" + config["name"][1:]

        start = time.perf_counter()
        service, _ = services.service_create(actor=user, workspace=workspace, config=config)
        stack.wait_for(lambda: Instance.objects.filter(service=service, ready=True).count() == 1, timeout=120)
        wait_routed(service, gateway, 1, timeout=30)
        one_start = time.perf_counter() - start
        stack.wait_for(lambda: Service.objects.get(pk=service.pk).status == "Running", timeout=30)

        autoscaling.autoscaler_set(
            actor=user, service=service, body={"min": 1, "max": 5, "strategies": {"qps": args.target}}
        )
        path = f"/api/predict/{service.name}/"
        with PacedLoad(gateway.http_port, path, service.token, qps=args.target, threads=8, limit=180) as load:
            time.sleep(args.hold)
            held = Service.objects.get(pk=service.pk).instance
            before = Event.objects.filter(service=service, reason="Autoscaled").count()
            step = time.perf_counter()
            load.set_rate(args.target * 5)
            stack.wait_for(
                lambda: Event.objects.filter(service=service, reason="Autoscaled").count() > before,
                timeout=60,
                interval=0.05,
            )
            decided = time.perf_counter() - step
            stack.wait_for(
                lambda: Instance.objects.filter(service=service, ready=True).count() == 5, timeout=120, interval=0.05
            )
            wait_routed(service, gateway, 5, timeout=30)
            ready = time.perf_counter() - step
            time.sleep(3)
        decisions = list(Event.objects.filter(service=service, reason="Autoscaled").values_list("message", flat=True))
        sent = load.ok + len(load.failures)
        print(f"one instance start (create → ready, routed): {one_start:6.2f} s")
        print(f"instances during {args.hold:.0f} s at the target ({args.target:g} qps): {held} (goal 1: no move)")
        print(f"step ×5 → autoscaler decision:               {decided:6.2f} s")
        print(f"step ×5 → 5 instances ready and routed:      {ready:6.2f} s")
        print(f"decision → ready, over one instance start:   {ready - decided - one_start:+6.2f} s")
        print(f"decisions: {decisions}")
        print(f"requests sent {sent}, lost {len(load.failures)} (goal 0)")
        for failure in load.failures[:5]:
            print(f"  {failure}")
    finally:
        stack.stop(gateway_proc)
        stack.stop(prober)
        stack.stop(worker)
        import docker

        client = docker.from_env()
        label = f"berth.installation={os.environ['BERTH_INSTALLATION']}"
        for container in client.containers.list(all=True, filters={"label": label}):
            container.remove(force=True)
        stack.stop(redis_proc)
        stack.stop(dockerd)


if __name__ == "__main__":
    main()
