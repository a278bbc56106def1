"""List page and list API with 1,000 services in 10 workspaces: server time per request.

Run: .venv/bin/python benchmarks/list_pages.py
Goal (issue 2): median ≤ 100 ms. The baseline, measured in the same run, is the
cheapest authenticated request the console serves (/healthz through the full
middleware stack), so the ratio shows what listing adds.
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")
os.environ["BERTH_SQLITE_PATH"] = str(Path(tempfile.mkdtemp()) / "bench.sqlite3")
os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from deployments import spec  # noqa: E402
from deployments.choices import Role, ServiceStatus  # noqa: E402
from deployments.models import Membership, Service, ServiceVersion, Workspace  # noqa: E402

SERVICES, WORKSPACES, ROUNDS = 1000, 10, 40


def seed():
    call_command("migrate", "--noinput", "-v0")
    user = get_user_model().objects.create_user("bench", password="bench-password")
    config = spec.validate_config(
        {
            "name": "svc",
            "containers": [{"image": "repo/app:1", "command": "python app.py", "port": 8000}],
            "metadata": {"instance": 2, "cpu": 1, "memory": 512},
        }
    ).config
    statuses = list(ServiceStatus.values)
    for w in range(WORKSPACES):
        ws = Workspace.objects.create(name=f"ws {w}", slug=f"ws-{w}")
        Membership.objects.create(workspace=ws, user=user, role=Role.OWNER)
        services = Service.objects.bulk_create(
            Service(
                name=f"svc_{w:02d}_{i:04d}",
                workspace=ws,
                token="t",
                status=statuses[i % len(statuses)],
                latest_version_number=1,
            )
            for i in range(SERVICES // WORKSPACES)
        )
        versions = ServiceVersion.objects.bulk_create(
            ServiceVersion(service=s, number=1, config={**config, "name": s.name}) for s in services
        )
        for s, v in zip(services, versions):
            s.current_version = v
        Service.objects.bulk_update(services, ["current_version"])
    return user


def timed(client: Client, url: str) -> float:
    samples = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(samples)


def main():
    user = seed()
    client = Client()
    client.force_login(user)
    baseline = timed(client, "/healthz")
    rows = [
        ("list page (25/page)", "/services/"),
        ("list page, search", "/services/?search=svc_05"),
        ("list API (100/page)", "/api/v1/services"),
        ("list API, status filter", "/api/v1/services?status=Running"),
    ]
    print(f"{SERVICES} services in {WORKSPACES} workspaces, median of {ROUNDS} requests")
    print(f"{'baseline /healthz':28s} {baseline:7.2f} ms")
    for label, url in rows:
        median = timed(client, url)
        print(
            f"{label:28s} {median:7.2f} ms   {median / baseline:5.1f}x baseline   goal <= 100 ms: {'met' if median <= 100 else 'MISSED'}"
        )


if __name__ == "__main__":
    main()
