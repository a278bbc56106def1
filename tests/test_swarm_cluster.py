"""The swarm harness itself: teardown leaves nothing behind, twice over, and a killed run is swept."""

import subprocess
from pathlib import Path

import pytest

from tests import stack
from tests.swarm_cluster import SwarmCluster, sweep_stale

pytestmark = pytest.mark.swarm
SLEEP = 86399  # what the task runs: its process must be gone too


def traces(cluster: SwarmCluster) -> dict[str, list[str]]:
    """Everything of this cluster the machine still holds."""
    tag = f"bsw{cluster.run_id}-"
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    links = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    mounts = Path("/proc/mounts").read_text()
    processes = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(cluster.run_dir) in cmdline or cmdline.strip() == f"sleep {SLEEP}":
                processes.append(cmdline)
    return {
        "namespaces": [line for line in namespaces.splitlines() if line.startswith(tag)],
        "links": [line for line in links.splitlines() if tag in line],
        "mounts": [
            line for line in mounts.splitlines() if str(cluster.run_dir) in line or str(cluster.data_dir) in line
        ],
        "processes": processes,
        "directories": [str(p) for p in (cluster.run_dir, cluster.data_dir) if p.exists()],
    }


def test_a_killed_run_is_swept_and_a_second_teardown_is_harmless(swarm_cluster, busybox_image):
    # A second cluster beside the session's, with a running task (so a containerd shim and overlay mounts exist).
    cluster = SwarmCluster(run_id=f"{stack.RUN_ID}k").start()
    try:
        cluster.load_images(busybox_image)
        cluster.manager.client().services.create(busybox_image, ["sleep", str(SLEEP)], name="sleeper")
        stack.wait_for(
            lambda: any(t["Status"]["State"] == "running" for t in cluster.manager.client().api.tasks()),
            timeout=30,
            what="a running task",
        )
        assert all(traces(cluster)[kind] for kind in ("namespaces", "links", "mounts", "processes", "directories"))
        # As if its pytest had been killed: the owner is a process that has exited.
        gone = subprocess.Popen(["true"])
        gone.wait()
        (cluster.run_dir / "owner").write_text(str(gone.pid))

        assert sweep_stale() == [cluster.run_id]  # the session's own cluster, whose owner lives, is left alone
        assert traces(cluster) == {"namespaces": [], "links": [], "mounts": [], "processes": [], "directories": []}
        assert swarm_cluster.manager.client().ping()
    finally:
        cluster.stop()
    cluster.stop()
    assert traces(cluster) == {"namespaces": [], "links": [], "mounts": [], "processes": [], "directories": []}
