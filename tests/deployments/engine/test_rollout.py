"""engine/rollout.py: the rollout plan as plain arithmetic (no database, no Docker)."""

import pytest

from deployments.engine.rollout import Limits, Slot, plan, rolling_limits


def slots(n: int, *, ready: bool = True, start: int = 0, live: bool = True) -> list[Slot]:
    return [Slot(key=f"k{start + i}", ordinal=start + i, ready=ready, live=live) for i in range(n)]


def limits(surge=1, unavailable=0, when_full=None) -> Limits:
    return Limits(
        surge=surge, unavailable=unavailable, unavailable_when_full=unavailable if when_full is None else when_full
    )


@pytest.mark.parametrize(
    ("strategy", "desired", "expected"),
    [
        ({}, 2, (1, 0, 1)),
        ({"max_surge": 2, "max_unavailable": 1}, 4, (2, 1, 1)),
        ({"max_surge": "25%", "max_unavailable": "25%"}, 10, (3, 2, 2)),  # surge rounds up, unavailable down
        ({"max_surge": "2%"}, 2, (1, 0, 1)),  # EAS's default 2 % still surges by one
        ({"max_surge": 0, "max_unavailable": 0}, 3, (1, 0, 0)),  # never a plan that cannot move
        ({"max_surge": 0, "max_unavailable": "50%"}, 3, (0, 1, 1)),
        ({"max_unavailable": 0}, 2, (1, 0, 0)),  # explicitly no unavailability, even on a full host
    ],
)
def test_it_resolves_integer_and_percent_limits_with_their_rounding(strategy, desired, expected):
    resolved = rolling_limits({"metadata": {"rolling_strategy": strategy}}, desired)
    assert (resolved.surge, resolved.unavailable, resolved.unavailable_when_full) == expected


def test_a_create_starts_every_missing_instance_at_once():
    assert plan(desired=3, limits=limits(), new=[], old=[]) == Plan_(start=3)


def Plan_(start=0, retire_new=(), retire_old=()):
    from deployments.engine.rollout import Plan

    return Plan(start=start, retire_new=tuple(retire_new), retire_old=tuple(retire_old))


def test_a_rolling_update_starts_within_the_surge_and_keeps_every_ready_old_instance():
    step = plan(desired=2, limits=limits(surge=1), new=[], old=slots(2))
    assert step == Plan_(start=1)


def test_an_old_instance_goes_once_a_new_one_is_ready():
    new = slots(1, start=2)
    step = plan(desired=2, limits=limits(surge=1), new=new, old=slots(2))
    assert step.start == 0  # 2 old + 1 new = desired + surge
    assert step.retire_old == ("k1",)  # the highest ordinal


def test_unavailability_lets_old_instances_go_before_new_ones_are_ready():
    step = plan(desired=4, limits=limits(surge=1, unavailable=2), new=[], old=slots(4))
    assert step.start == 1
    assert step.retire_old == ("k3", "k2")


def test_instances_that_serve_nothing_always_go_first():
    old = slots(1, ready=False) + slots(1, start=1)
    step = plan(desired=2, limits=limits(surge=1), new=[], old=old)
    assert step.retire_old == ("k0",)


def test_percent_surge_starts_several_at_once():
    resolved = rolling_limits({"metadata": {"rolling_strategy": {"max_surge": "50%"}}}, 4)
    assert plan(desired=4, limits=resolved, new=[], old=slots(4)).start == 2


def test_scaling_down_during_a_rollout_retires_the_highest_new_ordinals():
    new = slots(3, start=0)
    step = plan(desired=1, limits=limits(), new=new, old=slots(1, start=5))
    assert step.retire_new == ("k2", "k1")
    assert step.start == 0


def test_scaling_up_during_a_rollout_starts_new_instances_within_the_surge():
    step = plan(desired=4, limits=limits(surge=1), new=slots(2, start=10), old=slots(2))
    assert step.start == 1  # 2 old + 2 new + 1 = desired + surge
    assert step.retire_old == ()  # 4 must stay ready: an old one goes only when a third new one is ready


def test_a_new_instance_that_failed_to_start_does_not_count():
    new = slots(1, start=2, ready=False, live=False)
    step = plan(desired=2, limits=limits(surge=1), new=new, old=slots(2))
    assert step.start == 1
    assert step.retire_old == ()


def test_a_crash_looping_new_instance_counts_and_holds_the_old_ones():
    new = slots(1, start=2, ready=False)  # live (restarted by reconcile), never ready
    step = plan(desired=2, limits=limits(surge=1), new=new, old=slots(2))
    assert step == Plan_(start=0)


def test_on_a_full_host_the_update_replaces_one_at_a_time():
    full = limits(surge=1, unavailable=0, when_full=1)
    first = plan(desired=2, limits=full, new=[], old=slots(2), full=True)
    assert first == Plan_(retire_old=("k1",))  # stop one old ...
    second = plan(desired=2, limits=full, new=[], old=slots(1), full=True)
    assert second.start == 1  # ... start one new in its room
    third = plan(desired=2, limits=full, new=slots(1, start=2), old=slots(1), full=True)
    assert third == Plan_(start=0, retire_old=("k0",))  # the new one is ready: the last old goes


def test_on_a_full_host_an_explicit_zero_unavailability_waits():
    step = plan(desired=2, limits=limits(surge=1, unavailable=0, when_full=0), new=[], old=slots(2), full=True)
    assert step == Plan_()
