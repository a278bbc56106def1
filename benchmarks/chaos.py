"""The chaos matrix: every component SIGKILLed in the middle of every operation, under gateway load.

    .venv/bin/python benchmarks/chaos.py [component ...]

Starts one `manage.py runall` (tests/chaos/harness.py) with a steady and a working busybox service
and a bounded request loop through the gateway, then for each component x operation (create,
rolling update, scale) runs tests/chaos/cases.run_case and prints one row: component, operation,
time to converge (from the kill), orphan containers, duplicate instances, failed / sent requests.
Goal: 0 orphans, 0 duplicates, nothing stuck; failed requests only when HAProxy itself is killed.
The system dockerd is never killed: its rows say skipped unless the stack started its own.
"""

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "console.settings")

import django  # noqa: E402

django.setup()

from tests import stack as test_stack  # noqa: E402
from tests.chaos.cases import HEADER, Fleet, run_case  # noqa: E402
from tests.chaos.harness import COMPONENTS, OPERATIONS, Stack  # noqa: E402


def main(components: list[str]) -> int:
    image = test_stack.busybox_image()
    prefix = f"t{test_stack.RUN_ID}_b"
    with tempfile.TemporaryDirectory(prefix="berth-chaos-") as work:
        stack = Stack(Path(work))
        bad = 0
        try:
            stack.start()
            fleet = Fleet(stack, image, prefix)
            fleet.setup()
            print(HEADER, flush=True)
            for component in components:
                for operation in OPERATIONS:
                    result = run_case(stack, fleet, component, operation)
                    print(result.row(), flush=True)
                    bad += not result.skipped and not result.verdict.converged
            fleet.teardown()
        finally:
            stack.stop()
            test_stack.remove_run_containers(prefix)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:] or list(COMPONENTS)))
