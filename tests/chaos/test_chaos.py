"""Every component of a running installation SIGKILLed mid-operation: nothing is lost or doubled.

One `manage.py runall` for the module (tests/chaos/harness.py), a bounded load loop through its
gateway throughout. Each case starts a create, rolling update or scale, SIGKILLs one component by
PID, waits for supervisord to restart it, then requires: every service Running at its desired count,
0 orphan containers, 0 duplicate instances, no deployment left queued or running, and no failed
request unless HAProxy itself was killed. The failed-request count is printed per case.
"""

import pytest

from tests.chaos.cases import HEADER, Fleet, run_case
from tests.chaos.harness import HARMLESS, Stack
from tests.conftest import SERVICE_PREFIX

pytestmark = [pytest.mark.chaos, pytest.mark.docker, pytest.mark.redis]

# One operation per component keeps the module within CI time; benchmarks/chaos.py runs all of them.
CASES = [
    ("worker", "create"),
    ("beat", "update"),
    ("prober", "update"),
    ("gateway", "scale"),
    ("haproxy", "update"),
    ("redis", "create"),
    ("web", "scale"),
    ("dockerd", "create"),
]


@pytest.fixture(scope="module")
def fleet(tmp_path_factory, dockerd, busybox_image):
    stack = Stack(tmp_path_factory.mktemp("chaos"))
    try:
        stack.start()
        fleet = Fleet(stack, busybox_image, SERVICE_PREFIX + "c")
        fleet.setup()
        print("\n" + HEADER)
        yield fleet
        fleet.teardown()
    finally:
        stack.stop()


@pytest.mark.parametrize("component,operation", CASES, ids=[f"{c}-{o}" for c, o in CASES])
def test_a_component_killed_mid_operation_leaves_everything_converged(fleet, component, operation):
    result = run_case(fleet.stack, fleet, component, operation)
    print(result.row())
    if result.skipped:
        pytest.skip(result.skipped)
    assert result.verdict.converged, f"{result.verdict.summary()}\n{fleet.stack.log()[-3000:]}"
    if component in HARMLESS:
        assert result.failed == 0, fleet.load.failures
