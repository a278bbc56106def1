"""The workspace page shows its quotas and what the workspace uses of them."""

import pytest

from deployments.actions.services import service_create
from deployments.models import Workspace

pytestmark = pytest.mark.django_db


def test_the_owner_sees_the_limits_and_the_usage_on_the_workspace_page(client, alice, team):
    config = {
        "name": "web",
        "containers": [{"image": "example.com/app:1", "command": "serve", "port": 8000}],
        "metadata": {"instance": 3, "cpu": 1, "memory": 256},
    }
    service_create(actor=alice, workspace=team, config=config)
    Workspace.objects.filter(pk=team.pk).update(max_instances=8, max_memory_mb=4096)
    client.force_login(alice)
    page = client.get(f"/workspaces/{team.slug}/").content.decode()
    quotas = page[page.index('id="quotas"') :]
    quotas = " ".join(quotas[: quotas.index("</section>")].split())
    assert "<td>Instances</td><td>3</td><td>8</td>" in quotas
    assert "<td>CPU cores</td><td>3</td><td>unlimited</td>" in quotas
    assert "<td>Memory</td><td>768 MB</td><td>4096 MB</td>" in quotas
