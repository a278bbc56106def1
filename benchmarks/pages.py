"""The service page, its polled fragments and the dashboard while 10 deploys run, against idle.

Run: .venv/bin/python benchmarks/pages.py [--deploys 10] [--idle-rounds 20]
Starts the same scratch engine as benchmarks/deploy.py (dockerd, Redis, a Celery worker, the
prober, SQLite). Requests go through Django's full stack in this process (test Client, logged in),
so the times are server time without the network. The browser's polling is replayed: the status
region every 1 s, instances-and-events every 2 s, and the gateway traffic, mounts and dashboard.

Goal (issue 16): median <= 300 ms per URL during the deploys; the idle baseline is measured first,
in the same run, and each line prints the ratio.
"""

import argparse
import statistics
import time
from collections import defaultdict

from _stack import PREFIX, config, engine, wait_running

STATUS_POLL = {"HX-Request": "true", "HX-Target": "service-status"}
RUNTIME_POLL = {"HX-Request": "true", "HX-Target": "service-runtime"}


def polled(name: str) -> list[tuple[str, str, dict]]:
    """(label, url, headers) as the browser asks them on the service page, plus the dashboard."""
    from django.urls import reverse

    detail = reverse("service-detail", args=[name])
    return [
        ("service page", detail, {}),
        ("status fragment", detail, STATUS_POLL),
        ("runtime fragment (instances, events)", detail, RUNTIME_POLL),
        ("gateway page", reverse("service-gateway", args=[name]), {}),
        ("gateway metrics poll", reverse("api-service-metrics", args=[name]) + "?minutes=60", {}),
        ("mounts fragment", reverse("service-mounts", args=[name]), {"HX-Request": "true"}),
        ("dashboard", reverse("dashboard"), {}),
    ]


def one_round(client, urls, times: dict) -> None:
    for label, url, headers in urls:
        start = time.perf_counter()
        response = client.get(url, headers=headers)
        times[label].append(time.perf_counter() - start)
        assert response.status_code in (200, 286), (label, response.status_code)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--deploys", type=int, default=10)
    parser.add_argument("--idle-rounds", type=int, default=20)
    args = parser.parse_args()
    with engine(worker_concurrency=2) as (user, workspace, image):
        from django.test import Client

        from deployments.actions import services

        client = Client()
        client.force_login(user)
        services.service_create(actor=user, workspace=workspace, config=config("watched", image))
        wait_running([PREFIX + "watched"], 120)
        idle: dict[str, list[float]] = defaultdict(list)
        for _ in range(args.idle_rounds):
            one_round(client, polled(PREFIX + "watched"), idle)

        names = [PREFIX + f"load{i}" for i in range(args.deploys)]
        loaded: dict[str, list[float]] = defaultdict(list)
        started = time.perf_counter()
        for name in names:
            services.service_create(actor=user, workspace=workspace, config=config(name[len(PREFIX) :], image))
        from deployments.models import Service

        urls = polled(names[-1])  # the last one queued: it is deploying for the whole run
        while Service.objects.filter(name__in=names).exclude(status="Running").exists():
            one_round(client, urls, loaded)
            if time.perf_counter() - started > 300:
                raise SystemExit("the deploys did not finish within 300 s")
        wait_running(names, 60)
        took = time.perf_counter() - started
        rounds = len(loaded["service page"])
        print(f"server time per request, idle ({args.idle_rounds} rounds) vs during {args.deploys} concurrent "
              f"deploys ({rounds} rounds over {took:.0f} s):")  # fmt: skip
        print(f"  {'':<38} {'idle med':>9} {'load med':>9} {'load p95':>9} {'ratio':>6}  goal <= 300 ms")
        for label in idle:
            i, m, p = statistics.median(idle[label]), statistics.median(loaded[label]), pct(loaded[label], 0.95)
            verdict = "met" if m <= 0.3 else "MISSED"
            print(f"  {label:<38} {i * 1000:7.0f}ms {m * 1000:7.0f}ms {p * 1000:7.0f}ms {m / i:5.1f}x  {verdict}")


if __name__ == "__main__":
    main()
