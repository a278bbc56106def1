"""One autoscaling step: (policy, observation, state, now) → Decision. Pure; the clock is injected.

The rules (reference §5.1; EAS documents the formula, the maximum over metrics and the
10 % tolerance, and says it follows Kubernetes' HPA; where EAS is silent this module
does what the HPA controller does):

1. Per metric: the value per instance (metrics.Metric.per_instance) against its target.
   Within the tolerance (|value / target - 1| <= 10 %, boundary included) the metric
   recommends the current count; otherwise ceil(current × value / target).
2. The recommendation is the maximum over metrics. A metric without samples is
   skipped, and while any is missing the recommendation never goes below the current
   count (HPA's rule: do not scale down on partial information). No samples at all:
   no move.
3. Stabilisation (HPA's `stabilizeRecommendationWithBehaviors`): every step records
   its recommendation. The count may rise only to the lowest recommendation of the
   scale-up window and fall only to the highest recommendation of the scale-down
   window, so one spike does not add instances (when the up-window is > 0) and one
   dip does not remove them (300 s by default).
4. Bounds: min..max, where a cron floor raises min (and max with it, when the cron
   target is above max: a scheduled size is an explicit instruction). While instances
   run the lower bound is at least 1: only rule 5 goes to zero.
5. Scale to zero: with min 0 (and no cron floor above 0), after zero traffic for
   scaleDownGracePeriodSeconds (600 s), the count goes to 0 directly. At zero, any
   traffic (requests held by the activator count) wakes the service to
   scaleUpActivationReplicas (1), bounded by max. Unknown traffic is never idle.

`ScalerState` carries what a step needs from the previous ones (recommendations with
their times, when idleness began); it is JSON-serialisable so the beat task can store it.
"""

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from deployments.autoscaling import metrics
from deployments.autoscaling.policy import Policy, Strategy

# ceil() of a product of floats can land a hair above an integer (0.3 × 10 / 0.1 = 30.000000000000004);
# anything within this of an integer is that integer.
_EPSILON = 1e-9


@dataclass(frozen=True)
class Observation:
    """What the collector saw for one service at one instant.

    `current`: the instance count now in force (the service's desired count).
    `samples`: metric name → values; one per instance for per-instance metrics (cpu),
    per-instance rates or one service-wide total for shared ones (qps, queue backlog):
    the metric's `per_instance` rule turns them into one number.
    `requests`: the service's requests per second at the gateway, requests held by the
    activator included; None = unknown. Used only to tell idle from busy; when it is
    None the qps samples stand in for it.
    """

    current: int
    samples: Mapping[str, Sequence[float]] = field(default_factory=dict)
    requests: float | None = None


@dataclass(frozen=True)
class ScalerState:
    recommendations: tuple[tuple[float, int], ...] = ()  # (time, raw recommendation), oldest first
    idle_since: float | None = None  # when zero traffic began, None while busy or unknown

    def to_json(self) -> dict:
        return {"recommendations": [list(pair) for pair in self.recommendations], "idle_since": self.idle_since}

    @classmethod
    def from_json(cls, data: object) -> "ScalerState":
        """Tolerant: anything malformed (an old format, a hand edit) reads as a fresh state."""
        try:
            recs = tuple((float(t), int(n)) for t, n in data["recommendations"])  # type: ignore[index]
            idle = data["idle_since"]  # type: ignore[index]
            return cls(recs, None if idle is None else float(idle))
        except (TypeError, KeyError, ValueError):
            return cls()


@dataclass(frozen=True)
class Floor:
    """A lower bound from outside the autoscaler, e.g. the cron job that fired last."""

    target: int
    source: str  # for the sentence: "cron job 'morning'"


@dataclass(frozen=True)
class Reading:
    metric: str
    value: float  # per instance
    target: float
    unit: str
    recommendation: int
    within_tolerance: bool

    tolerance: float

    def describe(self) -> str:
        """'qps 23.1 per instance > target 10'."""
        sign = ">" if self.value > self.target else "<" if self.value < self.target else "="
        head = f"{self.metric} {self.value:.1f}{self.unit} per instance"
        if self.within_tolerance:
            return f"{head} is within {_percent(self.tolerance)} of target {_number(self.target)}{self.unit}"
        return f"{head} {sign} target {_number(self.target)}{self.unit}"


@dataclass(frozen=True)
class Decision:
    current: int
    desired: int
    reason: str  # scale, steady, window, bounds, no_metrics, scale_to_zero, wake, asleep
    message: str  # one sentence for events and the panel
    readings: tuple[Reading, ...]
    recommendation: int | None  # the metrics' raw recommendation, before windows and bounds
    low: int  # bounds in force (min raised by a floor) ...
    high: int  # ... and max
    state: ScalerState

    @property
    def changed(self) -> bool:
        return self.desired != self.current


def decide(
    policy: Policy, observation: Observation, state: ScalerState, now: float, floor: Floor | None = None
) -> Decision:
    """The instance count the service should have at `now` (seconds, any epoch, non-decreasing)."""
    current = observation.current
    low, high = bounds(policy, floor)
    traffic = _traffic(observation)
    idle_since = None if traffic is None or traffic > 0 else (now if state.idle_since is None else state.idle_since)

    def done(
        desired: int,
        reason: str,
        message: str,
        readings: tuple[Reading, ...] = (),
        recommendation: int | None = None,
        recs: tuple[tuple[float, int], ...] = state.recommendations,
    ) -> Decision:
        new_state = ScalerState(recs, idle_since)
        return Decision(current, desired, reason, message, readings, recommendation, low, high, new_state)

    if current <= 0:
        return _from_zero(policy, low, high, traffic, floor, done)

    readings = tuple(r for s in policy.strategies if (r := _read(s, observation, policy.tolerance)) is not None)
    floor_low = max(low, 1)
    if not readings:
        desired = _clamp(current, floor_low, high)
        note = "" if desired == current else f" ({_bound_note(desired, current, low, high, floor)})"
        reason = "no_metrics" if desired == current else "bounds"
        return done(desired, reason, f"no metrics yet: {_arrow(current, desired)}{note}")

    driver = max(readings, key=lambda r: r.recommendation)
    raw = driver.recommendation
    if len(readings) < len(policy.strategies) and raw < current:
        raw = current  # some metric is missing: never scale down on partial information
    recs = _window(state.recommendations, now, max(policy.scale_up_window, policy.scale_down_window))
    up = min([raw, *(n for t, n in recs if t > now - policy.scale_up_window)])
    down = max([raw, *(n for t, n in recs if t > now - policy.scale_down_window)])
    recs = (*recs, (now, raw))
    stabilised = min(max(current, up), down)
    desired = _clamp(stabilised, floor_low, high)

    zero_ready = policy.min == 0 and low == 0 and idle_since is not None
    if zero_ready and now - idle_since >= policy.zero_grace_period:
        idle_for = _number(now - idle_since)
        message = f"no traffic for {idle_for} s (grace period {policy.zero_grace_period} s): {current} → 0"
        return done(0, "scale_to_zero", message, readings=readings, recommendation=raw, recs=())

    notes = []
    if stabilised != raw:
        notes.append(_window_note(raw, stabilised, policy))
    if desired != stabilised:
        notes.append(_bound_note(desired, stabilised, low, high, floor))
    message = f"{driver.describe()}: {_arrow(current, desired)}"
    if notes:
        message += f" (the metrics ask for {raw}; {'; '.join(notes)})"
    others = [r for r in readings if r is not driver]
    if others:
        message += "; also " + ", ".join(f"{r.describe()} asks for {r.recommendation}" for r in others)
    if desired != stabilised:
        reason = "bounds"
    elif stabilised != raw:
        reason = "window"
    else:
        reason = "scale" if desired != current else "steady"
    return done(desired, reason, message, readings=readings, recommendation=raw, recs=recs)


def bounds(policy: Policy, floor: Floor | None) -> tuple[int, int]:
    """(low, high) in force: min raised to the floor's target, max raised to at least that."""
    low = policy.min if floor is None else max(policy.min, floor.target)
    return low, max(policy.max, low)


class Autoscaler:
    """`decide` with its state kept in memory and the time read from `clock` (a fake one in tests).

    The default clock is wall time, not monotonic: a ScalerState stored by one process is read by another.
    """

    def __init__(self, policy: Policy, *, clock: Callable[[], float] = time.time, state: ScalerState | None = None):
        self.policy = policy
        self.clock = clock
        self.state = state or ScalerState()

    def decide(self, observation: Observation, floor: Floor | None = None) -> Decision:
        decision = decide(self.policy, observation, self.state, self.clock(), floor)
        self.state = decision.state
        return decision


# --- pieces -------------------------------------------------------------------------------------


def _read(strategy: Strategy, observation: Observation, tolerance: float) -> Reading | None:
    metric = metrics.lookup(strategy.metric)
    samples = observation.samples.get(strategy.metric)
    if metric is None or not samples:
        return None
    current = observation.current
    value = metric.per_instance(samples, current)
    target = strategy.target
    # |value/target - 1| <= tolerance, written without the division so 11 vs 10 is exactly 10 %.
    within = abs(value - target) <= tolerance * target * (1 + _EPSILON)
    recommendation = current if within else max(0, math.ceil(current * value / target - _EPSILON))
    return Reading(strategy.metric, value, target, metric.unit, recommendation, within, tolerance)


def _traffic(observation: Observation) -> float | None:
    if observation.requests is not None:
        return observation.requests
    qps = observation.samples.get("qps")
    return sum(qps) if qps else None


def _from_zero(
    policy: Policy, low: int, high: int, traffic: float | None, floor: Floor | None, done: Callable[..., Decision]
) -> Decision:
    if low > 0:
        source = f"floor {low} from {floor.source}" if floor is not None and floor.target == low else f"min {low}"
        return done(low, "bounds", f"{source}: 0 → {low}", recs=())
    if traffic:
        wake = min(policy.activation_replicas, high)
        message = f"{traffic:.1f} requests/s while at zero: 0 → {wake} (scaleUpActivationReplicas {wake})"
        return done(wake, "wake", message, recs=())
    why = "no traffic" if traffic is not None else "traffic unknown"
    return done(0, "asleep", f"{why}: stays at 0", recs=())


def _window(recs: tuple[tuple[float, int], ...], now: float, keep: float) -> tuple[tuple[float, int], ...]:
    """Recommendations still inside the longest window; older ones can never matter again."""
    return tuple((t, n) for t, n in recs if t > now - keep)


def _window_note(raw: int, stabilised: int, policy: Policy) -> str:
    if raw < stabilised:
        window = policy.scale_down_window
        return f"the scale-down window keeps the highest recommendation of the last {window} s, {stabilised}"
    window = policy.scale_up_window
    return f"the scale-up window keeps the lowest recommendation of the last {window} s, {stabilised}"


def _bound_note(desired: int, wanted: int, low: int, high: int, floor: Floor | None) -> str:
    if desired == high and wanted > high:
        return f"max {high}"
    if floor is not None and floor.target == low and floor.target > 0:
        return f"floor {low} from {floor.source}"
    if low == 0:
        return "at least 1 while instances run: only idleness scales to zero"
    return f"min {low}"


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(value, high))


def _arrow(current: int, desired: int) -> str:
    return f"{current} → {desired}" if desired != current else f"stays at {current}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _percent(fraction: float) -> str:
    return f"{_number(round(fraction * 100, 6))}%"
