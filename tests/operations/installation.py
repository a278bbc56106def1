"""Run by the backup/restore tests in a subprocess whose environment points at one installation.

`populate` fills it with one of everything that holds a secret, `inspect` prints what a user of
the installation would see (secrets decrypted, the API key tried over HTTP) as one JSON line.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from deployments.choices import DeploymentKind, InstanceStatus, Role, ServiceStatus  # noqa: E402
from deployments.engine.reconcile import reconcile_pass  # noqa: E402
from deployments.engine.reconcile import services_needing_convergence as find_services_needing_convergence  # noqa: E402
from deployments.models import (  # noqa: E402
    ApiKey,
    Deployment,
    DockerHost,
    Event,
    Instance,
    Membership,
    ObjectStore,
    RegistryCredential,
    Service,
    ServiceVersion,
    Workspace,
)

API_KEY = "berth_restore-test-key-0123456789abcdef"
# The service's name and image: a docker test gives a real image and a name its cleanup recognises.
SERVICE = os.environ.get("BERTH_TEST_SERVICE", "svc_a")
IMAGE = os.environ.get("BERTH_TEST_IMAGE", "repo/app:1")


def populate() -> None:
    import hashlib

    alice = get_user_model().objects.create_user("alice", password="alice-password-1")
    workspace = Workspace.objects.create(name="team", slug="team")
    Membership.objects.create(workspace=workspace, user=alice, role=Role.OWNER)
    RegistryCredential.objects.create(
        workspace=workspace, name="private", registry="registry.example.com", username="robot", password="reg-pw-1"
    )
    ObjectStore.objects.create(
        workspace=workspace,
        name="oss",
        endpoint_url="https://oss.example.com",
        access_key_id="AKID12345678",
        secret_access_key="oss-secret-key",
    )
    host = DockerHost.objects.create(name="local", url="unix:///var/run/docker.sock", tls_key="-----PEM KEY-----")
    service = Service.objects.create(
        name=SERVICE,
        workspace=workspace,
        token="service-token-abc",
        status=ServiceStatus.RUNNING,
        instance=2,
        latest_version_number=2,
    )
    config = {
        "name": SERVICE,
        "containers": [{"image": IMAGE, "command": "httpd -f -p 8000", "port": 8000}],
        "metadata": {"instance": 2},
    }
    for number in (1, 2):
        version = ServiceVersion.objects.create(
            service=service, number=number, config=config, secrets={"dockerAuth": f"robot:pw-{number}"}
        )
    Service.objects.filter(pk=service.pk).update(current_version=version)
    for ordinal in (1, 2):
        Instance.objects.create(
            service=service,
            version=version,
            host=host,
            ordinal=ordinal,
            name=f"berth-{SERVICE}-2-{ordinal}",
            container_id=f"deadbeef{ordinal}",
            host_port=30000 + ordinal,
            status=InstanceStatus.RUNNING,
            ready=True,
        )
    Deployment.objects.create(service=service, kind=DeploymentKind.SCALE)
    ApiKey.objects.create(
        user=alice, name="ci", prefix=API_KEY[:12], key_hash=hashlib.sha256(API_KEY.encode()).hexdigest()
    )


def services_needing_convergence() -> list[int]:
    return find_services_needing_convergence()


def reconcile() -> dict:
    """One reconcile pass, as beat runs it; then where each instance's container is."""
    stats = reconcile_pass()
    instances = Instance.objects.values_list("name", "container_id", "status")
    return {"stats": stats, "instances": [list(row) for row in instances]}


def inspect() -> dict:
    client = APIClient()
    answer = client.get("/api/v1/services", HTTP_AUTHORIZATION=f"Bearer {API_KEY}", HTTP_HOST="localhost")
    service = Service.objects.filter(name=SERVICE).select_related("current_version").first()
    return {
        "users": sorted(get_user_model().objects.values_list("username", flat=True)),
        "services": {s.name: s.token for s in Service.objects.all()},
        "versions": {
            f"{v.service.name}:{v.number}": v.secrets for v in ServiceVersion.objects.select_related("service")
        },
        "current_version": service.current_version.number if service else None,
        "credentials": {c.name: c.password for c in RegistryCredential.objects.all()},
        "object_stores": {o.name: [o.access_key_id, o.secret_access_key] for o in ObjectStore.objects.all()},
        "hosts": {h.name: h.tls_key for h in DockerHost.objects.all()},
        "api_key_status": answer.status_code,
        "api_key_sees": sorted(s["name"] for s in answer.json().get("results", []))
        if answer.status_code == 200
        else [],
        "instances": Instance.objects.count(),
        "deployments": sorted(Deployment.objects.values_list("status", flat=True)),
        "restored_events": Event.objects.filter(reason="Restored").count(),
        "needs_convergence": [Service.objects.get(pk=pk).name for pk in services_needing_convergence()],
    }


if __name__ == "__main__":
    if sys.argv[1] == "reconcile":
        print(json.dumps(reconcile(), sort_keys=True))
        sys.exit(0)
    if sys.argv[1] == "populate":
        populate()
    print(json.dumps(inspect(), sort_keys=True))
