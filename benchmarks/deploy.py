"""Deploy engine speed, as ratios against plain docker SDK calls measured in the same run.

Run: .venv/bin/python benchmarks/deploy.py [--rounds 5] [--breakdown] [--services 20] [--reconcile 1000]
Needs root (it starts dockerd if none answers) and redis-server; it starts its own Redis, Celery
worker and prober (default tick) on a scratch SQLite database, and removes what it made.

- create -> Running, 2 instances, same TCP health check on both sides (the prober's own probe
  function polls the plain SDK's containers): goal (issue 16) overhead <= 0.1 s median.
  `--breakdown` prints where Berth's time goes, from the Deployment, Instance and Event rows.
- `--services N`: N services created at once all reach Running (0 skips it).
- `--reconcile N`: one reconcile pass over N services x 2 running instances, against one docker
  list call; goal <= 2 s at 1,000. The rows are bulk-made and the containers started with the SDK
  (what the engine would leave), so the figure is the pass, not the deploys.
"""

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from _stack import CHECK, INSTALLATION, PREFIX, SCRIPT, config, engine, wait_running


def plain_sdk_round(image: str, n: int) -> tuple[float, float]:
    """The baseline: run 2 containers with the SDK, then probe both with the prober's TCP check until
    they pass (in parallel). Returns (total seconds, seconds until both containers were started)."""
    import docker

    from deployments.engine.prober import run_probe

    client = docker.from_env()
    start = time.perf_counter()
    containers = [
        client.containers.run(
            image, entrypoint=["/bin/sh", "-c", SCRIPT], detach=True, name=f"{PREFIX}plain-{n}-{i}",
            ports={"8000/tcp": ("127.0.0.1", None)}, mem_limit="32m", labels={"berth.bench": PREFIX},
        )
        for i in range(2)
    ]  # fmt: skip
    ports = []
    for c in containers:
        c.reload()
        ports.append(int(c.attrs["NetworkSettings"]["Ports"]["8000/tcp"][0]["HostPort"]))
    started = time.perf_counter() - start
    pending = set(ports)

    def probe(port: int) -> bool:
        return run_probe(CHECK, address="127.0.0.1", host_port=port, runtime=None, container_id="")

    with ThreadPoolExecutor(2) as pool:  # both at once, as the prober probes every instance of a pass
        while pending:
            pending = {p for p, passed in zip(pending, pool.map(probe, pending)) if not passed}
            if pending:
                time.sleep(0.01)
    elapsed = time.perf_counter() - start
    for c in containers:
        c.remove(force=True)
    return elapsed, started


def breakdown(service_name: str, t0: float) -> dict[str, float]:
    """Milestones of one create, in seconds after the create call, from the rows the engine wrote."""
    from deployments.models import Deployment, Event, Instance, Service

    service = Service.objects.get(name=service_name)
    deployment = Deployment.objects.filter(service=service).order_by("id").first()
    instances = list(Instance.objects.filter(service=service).order_by("ordinal"))
    events = list(Event.objects.filter(service=service).order_by("created_at", "id"))

    def at(moment) -> float:
        return moment.timestamp() - t0

    def event(reason: str, which=max) -> float:
        return which(at(e.created_at) for e in events if e.reason == reason)

    return {
        "deployment row (queued)": at(deployment.created_at),
        "claimed by a worker": at(deployment.started_at),
        "1st instance row placed": min(at(i.created_at) for i in instances),
        "1st container started": event("Started", min),
        "2nd container started": event("Started"),
        "1st instance ready (prober)": event("Ready", min),
        "2nd instance ready (prober)": event("Ready"),
        "service Running (status refresh)": event("Running"),
    }


def deploy_rounds(args, user, workspace, image) -> None:
    from deployments.actions import services

    plain_sdk_round(image, 0)  # warm both paths once (image cache, worker imports)
    services.service_create(actor=user, workspace=workspace, config=config("warm", image))
    wait_running([PREFIX + "warm"], 60)
    plain, plain_started, berth, steps = [], [], [], []
    for n in range(args.rounds):
        total, started = plain_sdk_round(image, n + 1)
        plain.append(total)
        plain_started.append(started)
        name = f"round{n}"
        t0, start = time.time(), time.perf_counter()
        services.service_create(actor=user, workspace=workspace, config=config(name, image))
        wait_running([PREFIX + name], 60)
        berth.append(time.perf_counter() - start)
        steps.append({**breakdown(PREFIX + name, t0), "seen Running by the caller": berth[-1]})
    p, b = statistics.median(plain), statistics.median(berth)
    print(f"create -> Running, 2 instances, same TCP health check, median of {args.rounds}:")
    print(
        f"  plain docker SDK   {p * 1000:8.0f} ms   (both containers started after {statistics.median(plain_started) * 1000:.0f} ms)"
    )
    met = "met" if b - p <= 0.1 else "MISSED"
    print(
        f"  Berth              {b * 1000:8.0f} ms   ratio {b / p:4.2f}x   overhead {b - p:+.3f} s (goal <= 0.1 s: {met})"
    )
    if args.breakdown:
        print("  breakdown (median ms after the create call; step = since the previous line):")
        previous = 0.0
        for key in steps[0]:
            value = statistics.median(s[key] for s in steps)
            print(f"    {key:<36} {value * 1000:7.0f}   step {(value - previous) * 1000:+6.0f}")
            previous = value


def burst(args, user, workspace, image, plain_one: float) -> None:
    from deployments.actions import services

    names = [PREFIX + f"burst{i}" for i in range(args.services)]
    start = time.perf_counter()
    for name in names:
        services.service_create(actor=user, workspace=workspace, config=config(name[len(PREFIX) :], image))
    wait_running(names, 300)
    total = time.perf_counter() - start
    print(f"{args.services} services created at once: all Running after {total:.1f} s "
          f"({total / (plain_one * args.services):.2f}x the plain SDK time for as many, done one by one)")  # fmt: skip


def seed_running(count: int, image: str, workspace) -> None:
    """`count` Running services x 2 ready instances: rows bulk-made, containers started with the SDK."""
    import docker
    from django.utils import timezone

    from deployments import spec
    from deployments.choices import InstanceStatus, ServiceStatus
    from deployments.models import DockerHost, Instance, Service, ServiceVersion

    host = DockerHost.objects.get(name="local")
    services = Service.objects.bulk_create(
        Service(name=f"{PREFIX}rec{i:04d}", workspace=workspace, token="t", status=ServiceStatus.RUNNING,
                latest_version_number=1, instance=2)
        for i in range(count)
    )  # fmt: skip
    versions = ServiceVersion.objects.bulk_create(
        ServiceVersion(service=s, number=1, config=spec.validate_config(config(s.name[len(PREFIX) :], image)).config)
        for s in services
    )
    for s, v in zip(services, versions):
        s.current_version = v
    Service.objects.bulk_update(services, ["current_version"])
    client = docker.from_env()

    def run(args):
        service, ordinal = args
        name = f"berth-{service.name}-v1-{ordinal}"
        labels = {"berth.installation": INSTALLATION, "berth.service": service.name, "berth.instance": name,
                  "berth.role": "main", "berth.version": "1"}  # fmt: skip
        # No network: reconcile never looks at it, and a veth per container would make seeding minutes longer.
        c = client.containers.run(
            image, ["sleep", "3600"], detach=True, name=name, labels=labels, mem_limit="8m", network_mode="none"
        )
        return service, ordinal, name, c.id

    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        made = list(pool.map(run, [(s, o) for s in services for o in range(2)]))
    now = timezone.now()
    Instance.objects.bulk_create(
        Instance(service=s, version=s.current_version, host=host, ordinal=o, name=name, container_id=cid, cpu=0,
                 memory_mb=0, status=InstanceStatus.RUNNING, reason="Running", ready=True, started=True,
                 started_at=now)
        for s, o, name, cid in made
    )  # fmt: skip
    print(f"  (seeded {count} services, {len(made)} containers in {time.perf_counter() - started:.0f} s)")


def reconcile(args, workspace, image) -> None:
    import docker
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from deployments.engine.reconcile import reconcile_pass

    seed_running(args.reconcile, image, workspace)
    api = docker.from_env().api
    listing, passes = [], []
    for _ in range(5):
        t = time.perf_counter()
        api.containers(all=True, filters={"label": [f"berth.installation={INSTALLATION}"]})
        listing.append(time.perf_counter() - t)
        t = time.perf_counter()
        with CaptureQueriesContext(connection) as captured:
            stats = reconcile_pass()
        passes.append(time.perf_counter() - t)
    r, one = statistics.median(passes), statistics.median(listing)
    print(f"reconcile pass over {args.reconcile} services x 2 instances: {r * 1000:.0f} ms median, "
          f"{len(captured.captured_queries)} queries, {stats} (one docker list call: {one * 1000:.0f} ms; "
          f"ratio {r / one:.1f}x; goal <= 2 s: {'met' if r <= 2 else 'MISSED'})")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--breakdown", action="store_true", help="where Berth's time goes, step by step")
    parser.add_argument("--services", type=int, default=20)
    parser.add_argument("--reconcile", type=int, default=0, metavar="N", help="a reconcile pass over N services")
    args = parser.parse_args()
    with engine() as (user, workspace, image):
        if args.rounds:
            deploy_rounds(args, user, workspace, image)
        if args.services:
            burst(args, user, workspace, image, plain_sdk_round(image, 99)[0])
        if args.reconcile:
            reconcile(args, workspace, image)


if __name__ == "__main__":
    main()
