"""The metrics an autoscaler can scale on, and how each becomes one number per instance.

A strategy `{"qps": 10}` means "10 per instance", so every metric is reduced to a
per-instance value before it meets its target. Metrics differ in how:

* a rate or a backlog is a service-wide quantity shared by the instances: the
  samples are summed and divided by the current instance count (`share`). QPS is
  "the average of all instances" in EAS's words (reference §5.1), and dividing the
  sum by the instance count, not by the instances that reported, means a new
  instance that has not served yet still counts as capacity.
* a utilisation is already per instance: the samples are averaged (`mean`).

A new metric plugs in with `register(Metric(...))` (or `register_family` for a
parametrised name such as `custom[<name>]`); policy validation and the decision
both look names up here, so nothing else changes. Pure: no Django, no I/O.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import fmean

# (samples, current instance count) → value per instance. Never called with no samples.
Aggregate = Callable[[Sequence[float], int], float]


def share(samples: Sequence[float], current: int) -> float:
    """A service-wide total split over the current instances (sum of samples / instances)."""
    return sum(samples) / max(current, 1)


def mean(samples: Sequence[float], current: int) -> float:
    """The average of per-instance samples; `current` is not needed."""
    return fmean(samples)


@dataclass(frozen=True)
class Metric:
    name: str  # as written in a strategy: "qps", "cpu", "gpu[util]"
    per_instance: Aggregate
    unit: str = ""  # printed after values: "%" for utilisations
    description: str = ""


_METRICS: dict[str, Metric] = {}
# Parametrised names: prefix → the Metric template (its name is replaced by the full name on lookup).
_FAMILIES: dict[str, Metric] = {}


def register(metric: Metric, *aliases: str) -> Metric:
    """Make `metric` (and its other names) usable in strategies. Re-registering a name replaces it."""
    for name in (metric.name, *aliases):
        _METRICS[name] = metric
    return metric


def register_family(prefix: str, template: Metric) -> None:
    """Accept every name `prefix<something>]`, e.g. `custom[` for `custom[latency]@tag[value]`."""
    _FAMILIES[prefix] = template


def lookup(name: str) -> Metric | None:
    """The metric behind a strategy name, or None if Berth does not know how to read it."""
    if name in _METRICS:
        return _METRICS[name]
    for prefix, template in _FAMILIES.items():
        if name.startswith(prefix) and len(name) > len(prefix) + 1 and "]" in name[len(prefix) :]:
            return Metric(name, template.per_instance, template.unit, template.description)
    return None


def known_names() -> list[str]:
    """Names for error messages: the registered names, then each family as `prefix<name>]`."""
    return [*_METRICS, *(f"{prefix}<name>]" for prefix in _FAMILIES)]


register(Metric("qps", share, "", "requests per second, averaged over the instances"))
register(Metric("cpu", mean, "%", "CPU utilisation relative to the requested cores"))
register(Metric("gpu[util]", mean, "%", "GPU utilisation"), "gpu")
register(Metric("queue[backlog]", share, "", "queued requests per instance (asynchronous services)"))
register_family("custom[", Metric("custom", mean, "", "a custom metric pushed by the instances"))
