"""deployments.autoscaling.decide: one autoscaling step (reference §5.1), on a fake clock."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from deployments.autoscaling import metrics
from deployments.autoscaling.decide import Autoscaler, Floor, Observation, ScalerState, decide
from deployments.autoscaling.policy import Behavior, Policy, Strategy, parse_autoscaler

QPS10 = Policy(1, 10, (Strategy("qps", 10),))
# Windows off, so a test sees the formula alone.
NO_WINDOWS = Behavior(scale_up_window=0, scale_down_window=0)


def policy(low=1, high=10, windows=NO_WINDOWS, **strategies) -> Policy:
    return Policy(low, high, tuple(Strategy(k, v) for k, v in (strategies or {"qps": 10}).items()), windows)


def step(p: Policy, current: int, now: float = 0, state: ScalerState | None = None, floor=None, requests=None, **m):
    samples = {name.replace("_", "[", 1) + "]" if "_" in name else name: v for name, v in m.items()}
    return decide(p, Observation(current, samples, requests), state or ScalerState(), now, floor)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


# --- the formula (EAS's documented examples) ----------------------------------------------------


def test_two_instances_at_23_qps_each_with_target_10_become_5():
    decision = step(QPS10, 2, qps=[23.1, 23.1])

    assert decision.desired == 5
    assert decision.reason == "scale"
    assert decision.message == "qps 23.1 per instance > target 10: 2 → 5"


def test_qps_is_the_service_total_shared_by_the_instances():
    # Unevenly loaded instances still make 23.1 per instance on average.
    assert step(QPS10, 2, qps=[40.0, 6.2]).desired == 5
    assert step(QPS10, 2, qps=[46.2]).desired == 5


def test_cpu_is_the_mean_of_the_instances():
    decision = step(policy(cpu=50), 4, cpu=[90, 70, 80, 80])

    assert decision.desired == math.ceil(4 * 80 / 50)
    assert decision.message == "cpu 80.0% per instance > target 50%: 4 → 7"


@pytest.mark.parametrize("per_instance", [9.0, 9.5, 10.0, 10.5, 11.0])
def test_inside_the_ten_percent_tolerance_nothing_moves(per_instance):
    decision = step(policy(high=100), 20, qps=[per_instance] * 20)

    assert decision.desired == 20
    assert decision.reason == "steady"
    assert decision.message == f"qps {per_instance:.1f} per instance is within 10% of target 10: stays at 20"


@pytest.mark.parametrize(("per_instance", "desired"), [(11.2, 23), (8.8, 18)])
def test_just_outside_the_tolerance_it_moves(per_instance, desired):
    assert step(policy(high=100), 20, qps=[per_instance] * 20).desired == desired


def test_with_several_metrics_the_highest_recommendation_wins():
    decision = step(policy(high=20, qps=10, cpu=70), 3, qps=[12.0] * 3, cpu=[95, 95, 92])

    assert decision.desired == 5  # cpu: ceil(3 × 94 / 70) = 5; qps: ceil(3 × 12 / 10) = 4
    assert decision.message == (
        "cpu 94.0% per instance > target 70%: 3 → 5; also qps 12.0 per instance > target 10 asks for 4"
    )
    assert [(r.metric, r.recommendation) for r in decision.readings] == [("qps", 4), ("cpu", 5)]


def test_one_busy_metric_outweighs_an_idle_one():
    assert step(policy(high=20, qps=10, cpu=70), 4, qps=[1.0] * 4, cpu=[140] * 4).desired == 8


def test_a_scale_down_is_rounded_up_to_keep_capacity():
    assert step(QPS10, 5, qps=[2.1] * 5).desired == 2  # ceil(5 × 2.1 / 10) = ceil(1.05)


def test_float_noise_does_not_add_an_instance():
    # 2 × 23.1 / 0.7 is 66 exactly, but 66.00000000000001 in floating point.
    assert step(policy(high=100, qps=0.7), 2, qps=[23.1, 23.1]).desired == 66


# --- bounds -------------------------------------------------------------------------------------


def test_it_never_goes_above_max_and_says_so():
    decision = step(QPS10, 2, qps=[80.0, 80.0])

    assert decision.desired == 10
    assert decision.reason == "bounds"
    assert decision.message == "qps 80.0 per instance > target 10: 2 → 10 (the metrics ask for 16; max 10)"


def test_it_never_goes_below_min_and_says_so():
    decision = step(policy(low=3), 6, qps=[1.0] * 6)

    assert decision.desired == 3
    assert decision.message == "qps 1.0 per instance < target 10: 6 → 3 (the metrics ask for 1; min 3)"


def test_a_count_outside_the_bounds_is_brought_inside_even_when_steady():
    assert step(policy(low=4), 2, qps=[10.0, 10.0]).desired == 4
    assert step(policy(high=3), 6, qps=[10.0] * 6).desired == 3


def test_with_min_zero_a_running_service_keeps_one_instance_until_idle_long_enough():
    decision = step(policy(low=0), 3, cpu=None, qps=[0.0, 0.0, 0.0], now=0)

    assert decision.desired == 1


# --- missing metrics ----------------------------------------------------------------------------


def test_without_any_metric_it_holds():
    decision = step(QPS10, 3)

    assert (decision.desired, decision.reason) == (3, "no_metrics")
    assert decision.message == "no metrics yet: stays at 3"


def test_a_missing_metric_blocks_scale_down_but_not_scale_up():
    both = policy(high=20, qps=10, cpu=70)

    assert step(both, 4, qps=[1.0] * 4).desired == 4
    assert step(both, 4, qps=[30.0] * 4).desired == 12


# --- stabilisation windows ----------------------------------------------------------------------


def test_by_default_a_scale_up_is_immediate_and_a_scale_down_waits_300_seconds():
    clock = FakeClock()
    scaler = Autoscaler(QPS10, clock=clock)

    assert scaler.decide(Observation(2, {"qps": [50.0, 50.0]})).desired == 10
    clock.advance(30)
    quiet = scaler.decide(Observation(10, {"qps": [2.0] * 10}))
    assert quiet.desired == 10
    assert quiet.reason == "window"
    assert quiet.message == (
        "qps 2.0 per instance < target 10: stays at 10 (the metrics ask for 2; the scale-down window keeps "
        "the highest recommendation of the last 300 s, 10)"
    )
    clock.advance(269)  # 299 s after the busy step
    assert scaler.decide(Observation(10, {"qps": [2.0] * 10})).desired == 10
    clock.advance(2)  # 301 s: the busy recommendation has left the window
    assert scaler.decide(Observation(10, {"qps": [2.0] * 10})).desired == 2


def test_the_scale_down_window_steps_down_to_the_highest_recent_recommendation():
    p = policy(high=20, windows=Behavior(scale_down_window=60))
    state = step(p, 8, now=0, qps=[10.0] * 8).state  # recommends 8
    state = step(p, 8, now=30, state=state, qps=[6.0] * 8).state  # recommends 5

    decision = step(p, 8, now=70, state=state, qps=[2.5] * 8)  # recommends 2; 8 has left the window

    assert decision.desired == 5


def test_a_scale_up_window_ignores_a_single_spike():
    p = policy(high=20, windows=Behavior(scale_up_window=60))
    state = step(p, 2, now=0, qps=[10.0, 10.0]).state

    spike = step(p, 2, now=10, state=state, qps=[50.0, 50.0])
    assert spike.desired == 2
    assert "the scale-up window keeps the lowest recommendation of the last 60 s, 2" in spike.message

    sustained = step(p, 2, now=65, state=spike.state, qps=[50.0, 50.0])
    assert sustained.desired == 10


def test_recommendations_older_than_every_window_are_forgotten():
    state = step(QPS10, 2, now=0, qps=[50.0, 50.0]).state

    later = step(QPS10, 10, now=1_000, state=state, qps=[10.0] * 10).state

    assert later.recommendations == ((1_000, 10),)


# --- scale to zero and wake ---------------------------------------------------------------------

ZERO = Policy(0, 5, (Strategy("qps", 10),), Behavior(scale_down_window=0))


def test_it_scales_to_zero_after_the_grace_period_of_zero_traffic():
    clock = FakeClock()
    scaler = Autoscaler(ZERO, clock=clock)
    idle = Observation(1, {"qps": [0.0]}, requests=0.0)

    assert scaler.decide(idle).desired == 1
    clock.advance(599)
    assert scaler.decide(idle).desired == 1
    clock.advance(1)
    decision = scaler.decide(idle)

    assert (decision.desired, decision.reason) == (0, "scale_to_zero")
    assert decision.message == "no traffic for 600 s (grace period 600 s): 1 → 0"


def test_a_request_during_the_grace_period_restarts_it():
    state = step(ZERO, 1, now=0, requests=0.0, qps=[0.0]).state
    state = step(ZERO, 1, now=500, state=state, requests=0.3, qps=[0.3]).state
    state = step(ZERO, 1, now=501, state=state, requests=0.0, qps=[0.0]).state

    assert step(ZERO, 1, now=1_000, state=state, requests=0.0, qps=[0.0]).desired == 1
    assert step(ZERO, 1, now=1_101, state=state, requests=0.0, qps=[0.0]).desired == 0


def test_unknown_traffic_never_counts_as_idle():
    state = step(ZERO, 1, now=0, requests=0.0, qps=[0.0]).state
    state = step(ZERO, 1, now=300, state=state, cpu=None).state  # a missed scrape

    assert state.idle_since is None
    assert step(ZERO, 1, now=700, state=state, requests=0.0, qps=[0.0]).desired == 1


def test_it_never_scales_to_zero_when_min_is_above_zero():
    p = Policy(1, 5, (Strategy("qps", 10),))

    assert step(p, 1, now=10_000, state=ScalerState(idle_since=0), requests=0.0, qps=[0.0]).desired == 1


def test_grace_period_comes_from_behavior_on_zero():
    p = parse_autoscaler(
        {"min": 0, "max": 5, "strategies": {"qps": 10}, "behavior": {"onZero": {"scaleDownGracePeriodSeconds": 60}}}
    ).policy

    assert step(p, 2, now=60, state=ScalerState(idle_since=0), requests=0.0, qps=[0.0]).desired == 0


def test_traffic_at_zero_wakes_the_service_to_the_activation_replicas():
    decision = step(ZERO, 0, requests=2.0)

    assert (decision.desired, decision.reason) == (1, "wake")
    assert decision.message == "2.0 requests/s while at zero: 0 → 1 (scaleUpActivationReplicas 1)"


def test_activation_replicas_are_configurable_and_bounded_by_max():
    three = Policy(0, 5, (Strategy("qps", 10),), Behavior(activation_replicas=3))
    too_many = Policy(0, 2, (Strategy("qps", 10),), Behavior(activation_replicas=3))

    assert step(three, 0, requests=1.0).desired == 3
    assert step(too_many, 0, requests=1.0).desired == 2


def test_without_traffic_a_service_at_zero_stays_there():
    assert step(ZERO, 0, requests=0.0).desired == 0
    assert step(ZERO, 0).reason == "asleep"


def test_the_wake_resets_the_recommendation_history():
    state = ScalerState(recommendations=((0, 5),), idle_since=None)

    assert step(ZERO, 0, now=10, state=state, requests=1.0).state.recommendations == ()


# --- the cron floor -----------------------------------------------------------------------------


def test_a_cron_floor_raises_min():
    decision = step(QPS10, 2, floor=Floor(6, "cron job 'morning'"), qps=[1.0, 1.0])

    assert (decision.desired, decision.low, decision.high) == (6, 6, 10)
    assert decision.message.endswith("2 → 6 (the metrics ask for 1; floor 6 from cron job 'morning')")


def test_metrics_still_scale_above_a_cron_floor():
    assert step(QPS10, 6, floor=Floor(6, "cron job 'morning'"), qps=[20.0] * 6).desired == 10


def test_a_cron_floor_above_max_raises_max_too():
    decision = step(QPS10, 2, floor=Floor(12, "cron job 'sale'"), qps=[10.0, 10.0])

    assert (decision.desired, decision.low, decision.high) == (12, 12, 12)


def test_a_cron_floor_wakes_a_service_at_zero_and_keeps_it_up():
    floor = Floor(2, "cron job 'morning'")

    woken = step(ZERO, 0, floor=floor, requests=0.0)
    assert (woken.desired, woken.message) == (2, "floor 2 from cron job 'morning': 0 → 2")
    assert step(ZERO, 2, now=10_000, state=ScalerState(idle_since=0), floor=floor, requests=0.0, qps=[0.0]).desired == 2


# --- state and registry -------------------------------------------------------------------------


def test_state_survives_json_and_malformed_state_reads_as_fresh():
    state = ScalerState(((1.5, 3), (2.5, 4)), idle_since=1.0)

    assert ScalerState.from_json(state.to_json()) == state
    assert ScalerState.from_json({"recommendations": "garbage"}) == ScalerState()
    assert ScalerState.from_json(None) == ScalerState()


def test_a_new_metric_plugs_in_through_the_registry(monkeypatch):
    # A backlog metric: the service's queued requests shared by its instances.
    monkeypatch.setitem(metrics._METRICS, "queue[pending]", metrics.Metric("queue[pending]", metrics.share))
    p = parse_autoscaler({"min": 1, "max": 20, "strategies": {"queue[pending]": 5}}).policy

    decision = step(p, 2, queue_pending=[40.0])

    assert decision.desired == 8  # 40 queued / 2 instances = 20 each, target 5
    assert decision.message == "queue[pending] 20.0 per instance > target 5: 2 → 8"


def test_the_backlog_metric_is_shared_and_gpu_is_averaged():
    p = policy(high=20, windows=NO_WINDOWS, **{"queue[backlog]": 10, "gpu[util]": 60})

    decision = step(p, 2, queue_backlog=[30.0], gpu_util=[60.0, 66.0])

    assert [(r.metric, r.value) for r in decision.readings] == [("queue[backlog]", 15.0), ("gpu[util]", 63.0)]
    assert decision.desired == 3


# --- properties ---------------------------------------------------------------------------------

counts = st.integers(1, 200)
loads = st.floats(0, 1_000, allow_nan=False, allow_infinity=False)
targets = st.floats(0.1, 500, allow_nan=False, allow_infinity=False)


@st.composite
def bounded_policies(draw) -> Policy:
    high = draw(st.integers(1, 300))
    return Policy(draw(st.integers(0, high)), high, (Strategy("qps", draw(targets)),), NO_WINDOWS)


@given(bounded_policies(), counts, loads)
def test_a_running_service_always_lands_inside_its_bounds(p, current, load):
    decision = step(p, current, qps=[load])

    assert max(p.min, 1) <= decision.desired <= p.max


@given(bounded_policies(), counts, loads, loads)
def test_more_load_never_means_fewer_instances(p, current, a, b):
    low, high = sorted((a, b))

    assert step(p, current, qps=[low]).desired <= step(p, current, qps=[high]).desired


@given(counts, targets, st.floats(0.9, 1.1))
def test_a_load_within_the_tolerance_never_moves_the_count(current, target, ratio):
    p = Policy(1, 1_000, (Strategy("qps", target),), NO_WINDOWS)

    assert step(p, current, qps=[target * ratio * current]).desired == current


@given(counts, targets, st.floats(1.11, 50))
def test_a_load_above_the_tolerance_always_adds_an_instance_below_max(current, target, ratio):
    p = Policy(1, 100_000, (Strategy("qps", target),), NO_WINDOWS)

    assert step(p, current, qps=[target * ratio * current]).desired > current


@settings(max_examples=200)
@given(st.lists(st.tuples(st.integers(1, 120), loads), min_size=1, max_size=30), st.integers(0, 600))
def test_a_scale_down_never_goes_below_a_recommendation_inside_the_down_window(steps, window):
    p = Policy(1, 100, (Strategy("qps", 10),), Behavior(scale_down_window=window))
    state, now, current = ScalerState(), 0.0, 5
    history: list[tuple[float, int]] = []
    for gap, load in steps:
        now += gap
        decision = step(p, current, now=now, state=state, qps=[load])
        history.append((now, decision.recommendation))
        if decision.desired < current:
            recent = [n for t, n in history if t > now - window or t == now]
            assert decision.desired >= min(max(recent), 100)
        state, current = decision.state, decision.desired
