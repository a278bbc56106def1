"""worker_processes > 1: forked serving processes behind one port, supervised by the parent."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

from tests import stack

SOURCE = """
import os
import time

import allspark


class Pids(allspark.BaseProcessor):
    def initialize(self):
        self.initialized_in = os.getpid()

    def process(self, data):
        time.sleep(float(data or 0))
        return "%d %d" % (self.initialized_in, os.getpid()), 200


if __name__ == "__main__":
    Pids(worker_threads=1, worker_processes=2).run()
"""


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) still answers kill(0).
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().split(") ")[1][0] != "Z"


def server_pids(processor, requests: int = 30) -> set[int]:
    return {int(processor.request(b"").body.split()[1]) for _ in range(requests)}


def test_two_worker_processes_share_the_port_after_one_initialize_and_stop_together(start_processor):
    processor = start_processor(SOURCE)
    # The port opens when the first child binds; wait for the second too.
    stack.wait_for(lambda: len(server_pids(processor)) == 2, timeout=10, what="both worker processes to serve")

    with ThreadPoolExecutor(20) as pool:
        started = time.monotonic()
        answers = list(pool.map(lambda _: processor.request(b"0.2"), range(20)))
        took = time.monotonic() - started
    pairs = [tuple(int(n) for n in a.body.split()) for a in answers]
    servers = Counter(server for _, server in pairs)

    assert [a.status for a in answers] == [200] * 20
    assert {parent for parent, _ in pairs} == {processor.proc.pid}, "initialize() runs once, in the parent"
    assert len(servers) == 2 and processor.proc.pid not in servers, servers
    assert took < 20 * 0.2 * 0.85, "two processes with one thread each should beat one thread alone"

    processor.terminate()
    assert processor.proc.wait(timeout=10) == 0
    stack.wait_for(lambda: not any(alive(pid) for pid in servers), timeout=5, what="the worker processes to exit")


def test_when_a_worker_process_dies_the_parent_stops_the_rest_and_exits_1(start_processor):
    processor = start_processor(SOURCE)
    stack.wait_for(lambda: len(server_pids(processor)) == 2, timeout=10, what="both worker processes to serve")
    servers = server_pids(processor)

    victim, survivor = sorted(servers)
    os.kill(victim, signal.SIGKILL)

    assert processor.proc.wait(timeout=10) == 1
    time.sleep(0.2)
    assert not alive(survivor)
    assert "exited with -9; stopping the others" in processor.output()
