"""Registering a Swarm cluster through the API, its nodes on the Hosts page, and draining a node there."""

import pytest
from django.test import Client

from deployments.models import DockerHost, Instance
from tests.cluster.test_cluster_services import create, ready, wait_running, web_config
from tests.conftest import api_client_for
from tests.stack import wait_for

pytestmark = [pytest.mark.swarm, pytest.mark.docker, pytest.mark.redis]


def test_an_admin_registers_a_cluster_sees_its_nodes_and_drains_one_whose_instances_move(
    engine_stack, transactional_db, admin_user, alice, swarm_cluster, busybox_image
):
    api = api_client_for(admin_user)
    manager = swarm_cluster.manager
    answer = api.post(
        "/api/v1/hosts",
        {"name": "swarm", "kind": "swarm", "url": manager.url, "address": manager.address},
        format="json",
    )
    assert answer.status_code == 201, answer.content
    assert answer.json()["kind"] == "swarm" and answer.json()["status"] == "Ready"
    assert api_client_for(alice).get("/api/v1/hosts").status_code == 403
    nodes = api.get("/api/v1/hosts/swarm/nodes").json()["nodes"]
    assert sorted(n["hostname"] for n in nodes) == sorted(n.name for n in swarm_cluster.nodes)
    assert all(n["state"] == "ready" and n["availability"] == "active" and n["cpus"] > 0 for n in nodes)

    service = create(alice, web_config("drain", busybox_image, instance=4, version="v1", pool="swarm"))
    wait_running(service, 4)
    busiest = max({r.node for r in ready(service)}, key=lambda n: sum(r.node == n for r in ready(service)))
    node_id = next(n["id"] for n in nodes if n["hostname"] == busiest)

    page = Client()
    page.force_login(admin_user)
    html = page.get("/hosts/").content.decode()
    for node in swarm_cluster.nodes:
        assert f'id="node-{node.name}"' in html and node.address in html
    assert html.count(">Drain</button>") >= 3
    assert Instance.objects.filter(service=service, node=busiest).first().name in html

    answer = page.post(f"/hosts/swarm/nodes/{node_id}/drain", {"hostname": busiest})
    assert answer.status_code == 302
    wait_for(
        lambda: not Instance.objects.filter(service=service, node=busiest).exists() and len(ready(service)) == 4,
        timeout=90, what=f"the instances on {busiest} to move and be ready again",
    )  # fmt: skip
    assert service.events.filter(reason="Rescheduled").exists()
    html = page.get("/hosts/").content.decode()
    assert ">Activate</button>" in html
    page.post(f"/hosts/swarm/nodes/{node_id}/active", {"hostname": busiest})
    availability = {n["hostname"]: n["availability"] for n in api.get("/api/v1/hosts/swarm/nodes").json()["nodes"]}
    assert availability[busiest] == "active"
    assert DockerHost.objects.get(name="swarm").kind == "swarm"
