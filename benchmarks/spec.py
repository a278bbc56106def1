"""How fast deployments.spec validates and normalises a config.

Run from the project root: .venv/bin/python benchmarks/spec.py [N]

Validates the largest documented example (eas.md §1.12, the composite config)
N times and prints configs/s, next to two baselines measured in the same run:
a json.dumps/json.loads round trip of the same dict, and the bare pydantic model
(ServiceSpec validate + canonical dump, without Berth's checks around it).
The goal is at least 2,000 configs/s. Prints figures; asserts nothing.
"""

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from deployments.spec import ServiceSpec, validate_config  # noqa: E402
from deployments.spec.checks import normalise  # noqa: E402

COMPOSITE = ROOT / "tests" / "deployments" / "golden" / "composite_1_12.in.json"
GOAL = 2_000


def rate(label: str, action, config: dict, n: int) -> float:
    """Best of three runs of n calls, in calls per second (the best run is the least disturbed one)."""
    action(config)  # warm caches (TypeAdapters, regexes, the schema of the model) outside the timing
    best = min(_timed(action, config, n) for _ in range(3))
    per_second = n / best
    print(f"{label:<44} {per_second:>10,.0f} configs/s  {best / n * 1e6:8.1f} µs each")
    return per_second


def _timed(action, config: dict, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        action(config)
    return time.perf_counter() - start


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5_000
    config = json.loads(COMPOSITE.read_text())
    result = validate_config(config)
    if not result.ok:
        print(f"the composite example does not validate: {result.errors}")
        return

    print(f"{COMPOSITE.name}: {len(json.dumps(config))} bytes of JSON, {n} iterations, best of 3\n")
    berth = rate("validate_config (Berth, full)", validate_config, config, n)
    bare = rate(
        "baseline: ServiceSpec validate + dump",
        lambda c: ServiceSpec.model_validate(normalise(c)[0]).canonical(),
        config,
        n,
    )
    round_trip = rate("baseline: json.loads(json.dumps(config))", lambda c: json.loads(json.dumps(c)), config, n)

    print()
    print(f"validate_config vs bare pydantic:   {berth / bare:.2f}x the speed")
    print(f"validate_config vs JSON round trip: {berth / round_trip:.2f}x the speed")
    verdict = "meets" if berth >= GOAL else "misses"
    print(f"goal {GOAL:,} configs/s: {verdict} it ({berth:,.0f} configs/s)")


if __name__ == "__main__":
    main()
