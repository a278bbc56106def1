"""Run by test_concurrency_postgres.py in a subprocess with DATABASE_URL pointing at PostgreSQL.

Prints one JSON object: what concurrent modify calls and concurrent deployment claims did.
"""

import json
import os
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from deployments.actions import services, workspaces  # noqa: E402
from deployments.choices import DeploymentKind, DeploymentStatus  # noqa: E402
from deployments.models import Deployment, Service, ServiceVersion  # noqa: E402

THREADS = 8


def run_threads(target) -> list:
    results, barrier = [None] * THREADS, threading.Barrier(THREADS)

    def body(i):
        barrier.wait()
        try:
            results[i] = target(i)
        except Exception as exc:  # reported, not raised: the test asserts on it
            results[i] = f"error: {exc!r}"
        finally:
            connection.close()

    threads = [threading.Thread(target=body, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main():
    call_command("migrate", "--noinput", "-v0")
    user = get_user_model().objects.create_user("pg_alice", password="pg-password-1")
    workspace = workspaces.workspace_current_ensure(user=user)
    config = {
        "name": "pg_service",
        "containers": [{"image": "repo/app:1", "command": "python app.py", "port": 8000}],
        "metadata": {"instance": 1},
    }
    service, _ = services.service_create(actor=user, workspace=workspace, config=config, deploy=False)

    def modify(i):
        fresh = Service.objects.get(pk=service.pk)
        _, changed, _ = services.service_patch(
            actor=user, service=fresh, patch={"containers[0].env": [{"name": "N", "value": str(i)}]}
        )
        return changed

    modified = run_threads(modify)
    numbers = list(ServiceVersion.objects.filter(service=service).values_list("number", flat=True))

    deployment = Deployment.objects.create(service=service, kind=DeploymentKind.CREATE)

    def claim(i):
        return Deployment.objects.filter(pk=deployment.pk, status=DeploymentStatus.QUEUED).update(
            status=DeploymentStatus.RUNNING
        )

    claims = run_threads(claim)
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "modified": modified,
                "versions": sorted(numbers),
                "claims": claims,
                "latest": Service.objects.get(pk=service.pk).latest_version_number,
            }
        )
    )


if __name__ == "__main__":
    main()
