"""The rollout plan: which instances to start and which to retire, from counts and states alone.

Pure: no database, no Docker, no clock. `engine/converge.py` feeds it the service's instances
as `Slot`s, applies the plan (start, then retire) and asks again at the next step, so every
rule here can be unit-tested with plain values (tests/deployments/engine/test_rollout.py).

The rules (EAS's rolling update, reference/eas.md §3):
- New instances are started within the surge budget: at most `desired + max_surge` instances
  (old and new) exist at once while old ones remain; without old ones, all missing ones start.
- An old instance is retired only while at least `desired - max_unavailable` instances stay
  ready after it goes; instances that serve nothing can always go.
- When no host has room for a surge instance, the update replaces within the unavailability
  budget instead (stop one old, start one new): `max_unavailable`, or 1 when the config does
  not set it (EAS's default on dedicated resources), so an update on a full host completes.
- Scaling down removes the highest ordinals of the new version first.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_SURGE = 1
DEFAULT_UNAVAILABLE = 0
# Used only when no host has room to surge and the config leaves max_unavailable unset.
DEFAULT_UNAVAILABLE_WHEN_FULL = 1


@dataclass(frozen=True)
class Limits:
    """A rolling strategy resolved to instance counts for one desired count."""

    surge: int
    unavailable: int
    unavailable_when_full: int


def _count(value: int | str | None, desired: int, default: int, *, round_up: bool) -> int:
    """An int, or "N%" of `desired`: surge rounds up, unavailability down (as Kubernetes does)."""
    if value is None:
        return default
    if isinstance(value, str) and value.endswith("%"):
        exact = desired * float(value[:-1]) / 100
        whole = int(exact)
        return whole + 1 if round_up and exact > whole else whole
    return int(value)


def rolling_limits(config: dict, desired: int) -> Limits:
    """The config's `metadata.rolling_strategy` as counts; defaults surge 1 and unavailable 0."""
    strategy = (config.get("metadata") or {}).get("rolling_strategy") or {}
    surge = _count(strategy.get("max_surge"), desired, DEFAULT_SURGE, round_up=True)
    unavailable = _count(strategy.get("max_unavailable"), desired, DEFAULT_UNAVAILABLE, round_up=False)
    if surge == 0 and unavailable == 0:
        surge = 1  # otherwise the rollout could never move
    when_full = unavailable if "max_unavailable" in strategy else max(unavailable, DEFAULT_UNAVAILABLE_WHEN_FULL)
    return Limits(surge=surge, unavailable=unavailable, unavailable_when_full=when_full)


@dataclass(frozen=True)
class Slot:
    """One instance as the plan sees it."""

    key: object  # whatever identifies the instance for the caller (a primary key)
    ordinal: int
    ready: bool
    # Counts against the desired number: starting, running or crash-looping (restarted by reconcile).
    # A new instance that could not even start (pull or create failed) is not live.
    live: bool = True


@dataclass(frozen=True)
class Plan:
    start: int  # new-version instances to start now
    retire_new: tuple  # keys of new-version instances above the desired count
    retire_old: tuple  # keys of old-version instances that may go now


def plan(*, desired: int, limits: Limits, new: list[Slot], old: list[Slot], full: bool = False) -> Plan:
    """One step of a rollout (or a scale, or a create: `old` empty).

    `full` says that the last attempt to start an instance found no host with room: the old
    version then gives way within `limits.unavailable_when_full`.
    """
    live_new = sorted((s for s in new if s.live), key=lambda s: s.ordinal)
    excess = max(0, len(live_new) - desired)
    retire_new = tuple(s.key for s in sorted(live_new, key=lambda s: -s.ordinal)[:excess])
    live_new = [s for s in live_new if s.key not in retire_new]

    missing = desired - len(live_new)
    if old:
        budget = desired + (0 if full else limits.surge) - len(live_new) - len(old)
        start = max(0, min(missing, budget))
    else:
        start = max(0, missing)

    unavailable = limits.unavailable_when_full if full else limits.unavailable
    ready_new = sum(1 for s in live_new if s.ready)
    ready_old = sum(1 for s in old if s.ready)
    retire_old = []
    # Those serving nothing go first; among ready ones, the highest ordinal.
    for slot in sorted(old, key=lambda s: (s.ready, -s.ordinal)):
        if slot.ready:
            if ready_new + ready_old - 1 < desired - unavailable:
                break
            ready_old -= 1
        retire_old.append(slot.key)
    return Plan(start=start, retire_new=retire_new, retire_old=tuple(retire_old))
