"""Session fixtures for the Swarm runtime's tests: one three-node swarm per run, and a private registry
every node reaches (see tests/swarm_cluster.py)."""

import shutil
import time

import pytest

from tests import stack
from tests.swarm_cluster import SwarmCluster, start_registry_on, sweep_stale

SWARM_REGISTRY_USER, SWARM_REGISTRY_PASSWORD = "robot", "swarm-registry-pw"


@pytest.fixture(scope="session")
def swarm_cluster(busybox_image):
    """Three dockerd in their own network namespaces joined into one swarm, with the busybox test image
    loaded on every node. Started once per run; everything it made is removed at the end."""
    swept = sweep_stale()
    if swept:
        print(f"\nswarm harness: removed clusters left by killed runs {swept}")
    cluster = SwarmCluster()
    try:
        cluster.start()
        cluster.load_images(busybox_image)
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="session")
def swarm_registry(swarm_cluster, busybox_image):
    """A registry with htpasswd auth on the swarm's network holding `<registry>/team/busybox:1`; yields
    (host:port, image reference). The image is pushed from node1, whose engine trusts the plain-HTTP registry."""
    proc, address, root = start_registry_on(swarm_cluster.gateway, SWARM_REGISTRY_USER, SWARM_REGISTRY_PASSWORD)
    try:
        node = swarm_cluster.manager.client()
        repository = f"{address}/team/busybox"
        node.images.get(busybox_image).tag(repository, "1")
        began = time.monotonic()
        auth = {"username": SWARM_REGISTRY_USER, "password": SWARM_REGISTRY_PASSWORD}
        for line in node.api.push(repository, tag="1", auth_config=auth, stream=True, decode=True):
            if "error" in line:
                raise RuntimeError(f"pushing the test image to the swarm registry failed: {line['error']}")
        print(f"swarm harness: pushed {repository}:1 in {time.monotonic() - began:.1f}s")
        node.images.remove(f"{repository}:1")  # so the manager, too, has to pull it with credentials
        yield address, f"{repository}:1"
    finally:
        stack.stop(proc)
        shutil.rmtree(root, ignore_errors=True)
