"""One chaos case: start an operation, SIGKILL a component in its middle, wait for convergence.

The operations act on services of `Fleet`: a steady service the load loop calls throughout, and a
working service that updates and scales act on (it serves too, so its requests count). A create
makes a new service each time.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass

from tests.chaos.harness import Load, Stack, Verdict, service_config

# How long after the API accepted the operation the component is killed: the worker has claimed the
# deployment by then (it runs within ~0.2 s) and the first container is being made or checked.
KILL_AFTER = 0.7


@dataclass
class Result:
    component: str
    operation: str
    seconds: float
    verdict: Verdict
    failed: int
    sent: int
    skipped: str = ""

    def row(self) -> str:
        if self.skipped:
            return f"{self.component:<8} {self.operation:<7} skipped: {self.skipped}"
        v = self.verdict
        return (
            f"{self.component:<8} {self.operation:<7} {self.seconds:>7.1f} s {len(v.orphans):>7} "
            f"{len(v.duplicates):>10} {self.failed:>6} / {self.sent:<6} {'ok' if v.converged else v.summary()}"
        )


HEADER = f"{'component':<8} {'op':<7} {'converge':>9} {'orphans':>7} {'duplicates':>10} {'failed / sent':>15}"


class Fleet:
    """The services every case works on, and the load loop through the gateway."""

    def __init__(self, stack: Stack, image: str, prefix: str):
        self.stack, self.image, self.prefix = stack, image, prefix
        self.steady, self.work = f"{prefix}steady", f"{prefix}work"
        self.counter = itertools.count(1)
        self.work_instances = 2

    def setup(self) -> None:
        for name in (self.steady, self.work):
            self.stack.api_retrying("POST", "services", service_config(name, self.image, instance=2))
        seconds, verdict = self.stack.wait_converged(timeout=180)
        assert verdict.converged, verdict.summary()
        self.load = Load(self.stack.gateway_port, {name: self.stack.token(name) for name in (self.steady, self.work)})
        self.load.start()
        # The routes are in HAProxy once a request gets through.
        deadline = time.monotonic() + 30
        while self.load.sent - self.load.failed < 10 or self.load.failed and self.load.sent < 20:
            assert time.monotonic() < deadline, self.load.failures
            time.sleep(0.2)
        self.load.failed, self.load.failures = 0, []

    def operate(self, operation: str) -> str:
        """Ask for `operation` through the API; returns the service it acts on."""
        n = next(self.counter)
        if operation == "create":
            name = f"{self.prefix}new{n}"
            self.stack.api_retrying("POST", "services", service_config(name, self.image, instance=2))
            return name
        if operation == "update":
            config = service_config(self.work, self.image, instance=self.work_instances, body=f"v{n}")
            self.stack.api_retrying("PUT", f"services/{self.work}", config)
            return self.work
        self.work_instances = 3 if self.work_instances == 2 else 2
        self.stack.api_retrying("POST", f"services/{self.work}/scale", {"instance": self.work_instances})
        return self.work

    def teardown(self) -> None:
        self.load.stop()


def run_case(stack: Stack, fleet: Fleet, component: str, operation: str, timeout: float = 120) -> Result:
    """`operation`, SIGKILL of `component` KILL_AFTER seconds later, then the time until all converged."""
    if component == "dockerd" and not stack.runs_own("dockerd"):
        return Result(component, operation, 0, Verdict(True), 0, 0, skipped="the system dockerd is shared")
    sent0, failed0 = fleet.load.sent, fleet.load.failed
    fleet.load.failures = []
    fleet.operate(operation)
    time.sleep(KILL_AFTER)
    killed_at = time.monotonic()
    old = stack.kill(component)
    stack.wait_back(component, old)
    _, verdict = stack.wait_converged(timeout=timeout)
    seconds = time.monotonic() - killed_at  # time to converge, counted from the kill
    time.sleep(1)  # requests a moment after convergence count too
    return Result(component, operation, seconds, verdict, fleet.load.failed - failed0, fleet.load.sent - sent0)
