"""Autoscaler settings: one `Policy`, read from either of EAS's two forms, written back to either.

The two doors to one setting (reference §1.9, §5.1, §8 item 3):

* the config form, inside a service config (`"autoscaler"`, what eascmd and the
  JSON file use): `{"min": 1, "max": 10, "strategies": {"qps": 10, "cpu": 70}}`;
* the API form, the body of the autoscaler endpoint (what EAS's OpenAPI uses):
  `{"min": 1, "max": 10, "scaleStrategies": [{"metricName": "qps", "threshold": 10}],
  "behavior": {...}}`. GET returns it; PUT accepts it and stores the config form.

They differ only in how strategies are spelt (a map vs a list). `behavior` is stored
in the config form exactly as the API spells it (`behavior.scaleUp.stabilizationWindowSeconds`,
`behavior.onZero.scaleDownGracePeriodSeconds`, ...) because: EAS documents no other
spelling for these settings in the JSON (the console's names are labels, not keys);
the service-config model already accepts `behavior` there with these names; and one
spelling per setting means a value read through one door is the value seen through the
other, with nothing to translate or lose. Unset behavior fields stay unset (absent, not
filled with defaults) so a config round-trips unchanged, as the spec's canonical form
requires; `Policy` answers with the default for them.

Berth accepts `min: 0` in both forms (the console's rule, scale to zero), although
EAS's OpenAPI documents `min > 0` (reference §8 item 4).

Errors are `{path, message}` with paths as the spec writes them
(`autoscaler.scaleStrategies[0].threshold`, `autoscaler.strategies["gpu[util]"]`).
Pure: no Django, no I/O.
"""

import difflib
import json
import math
import re
from dataclasses import dataclass, field
from typing import Any, TypedDict

from deployments.autoscaling import metrics

TOLERANCE = 0.1  # no move while |metric / target - 1| <= 10 % (EAS, as Kubernetes' HPA)
SCALE_UP_WINDOW = 0  # seconds; the API's default (the console shows 1 s, reference §8 item 5)
SCALE_DOWN_WINDOW = 300
ZERO_GRACE_PERIOD = 600  # idle seconds before scaling to zero
ACTIVATION_REPLICAS = 1  # instances started when waking from zero
MAX_INSTANCES = 3000

Loc = tuple[str | int, ...]


class Issue(TypedDict):
    path: str
    message: str


@dataclass(frozen=True)
class Strategy:
    metric: str  # a name metrics.lookup knows
    target: int | float  # per instance, > 0; an int stays an int so 10 is never written 10.0


@dataclass(frozen=True)
class Behavior:
    """The `behavior` object as given; None = not given (the default applies)."""

    scale_up_window: int | None = None
    scale_down_window: int | None = None
    zero_grace_period: int | None = None
    activation_replicas: int | None = None
    intercept_traffic: bool | None = None


@dataclass(frozen=True)
class Policy:
    """One autoscaler setting. `min`..`max` bound every decision; `min == 0` allows scale to zero."""

    min: int
    max: int
    strategies: tuple[Strategy, ...]
    behavior: Behavior = field(default_factory=Behavior)
    tolerance: float = TOLERANCE  # not a key in either form: EAS fixes it at 10 %

    @property
    def scale_up_window(self) -> int:
        return _given(self.behavior.scale_up_window, SCALE_UP_WINDOW)

    @property
    def scale_down_window(self) -> int:
        return _given(self.behavior.scale_down_window, SCALE_DOWN_WINDOW)

    @property
    def zero_grace_period(self) -> int:
        return _given(self.behavior.zero_grace_period, ZERO_GRACE_PERIOD)

    @property
    def activation_replicas(self) -> int:
        return _given(self.behavior.activation_replicas, ACTIVATION_REPLICAS)


def _given(value: int | None, default: int) -> int:
    return default if value is None else value


@dataclass
class ParsedPolicy:
    policy: Policy | None  # set only when there are no errors
    errors: list[Issue]

    @property
    def ok(self) -> bool:
        return self.policy is not None


# --- reading ------------------------------------------------------------------------------------

_TOP_KEYS = ("min", "max", "strategies", "scaleStrategies", "behavior")
_STRATEGY_KEYS = ("metricName", "threshold", "service")
_BEHAVIOR_KEYS = ("scaleUp", "scaleDown", "onZero")
_WINDOW_KEYS = ("stabilizationWindowSeconds",)
_ON_ZERO_KEYS = ("scaleDownGracePeriodSeconds", "scaleUpActivationReplicas", "interceptTraffic")
_INT_MAX = 2**31 - 1


def parse_autoscaler(data: object, *, service_name: str | None = None, at: Loc = ("autoscaler",)) -> ParsedPolicy:
    """Read either form into a Policy. Never raises for bad input: problems come back as errors.

    `at` is where `data` sits, for error paths: ("autoscaler",) inside a service config,
    () for an endpoint's body. `service_name`, when known, is the only value a
    strategy's `service` may hold (a service scales on its own metrics).
    """
    reader = _Reader()
    policy = reader.policy(data, at, service_name)
    return ParsedPolicy(policy if not reader.errors else None, reader.errors)


class _Reader:
    def __init__(self) -> None:
        self.errors: list[Issue] = []

    def fail(self, loc: Loc, message: str) -> None:
        self.errors.append({"path": format_path(loc), "message": message})

    def obj(self, value: object, loc: Loc, allowed: tuple[str, ...]) -> dict | None:
        if not isinstance(value, dict):
            self.fail(loc, "must be an object")
            return None
        for key in value:
            if key not in allowed:
                self.fail((*loc, key), _unknown(key, allowed))
        return value

    def int(self, value: object, loc: Loc, low: int, high: int = _INT_MAX) -> int | None:
        if type(value) is int and low <= value <= high:
            return value
        bounds = f"of at least {low}" if high == _INT_MAX else f"between {low} and {high}"
        self.fail(loc, f"must be an integer {bounds}")
        return None

    def required(self, data: dict, key: str, loc: Loc, what: str) -> object:
        if key not in data:
            self.fail((*loc, key), f"required: {what}")
        return data.get(key)

    def policy(self, data: object, at: Loc, service_name: str | None) -> Policy | None:
        data = self.obj(data, at, _TOP_KEYS)
        if data is None:
            return None
        low = self.required(data, "min", at, "the minimum number of instances, at least 0 (0 = scale to zero)")
        high = self.required(data, "max", at, f"the maximum number of instances, at most {MAX_INSTANCES}")
        low = self.int(low, (*at, "min"), 0, MAX_INSTANCES) if "min" in data else None
        high = self.int(high, (*at, "max"), 1, MAX_INSTANCES) if "max" in data else None
        if low is not None and high is not None and low > high:
            self.fail((*at, "min"), f"must be at most max ({high})")
        strategies = self.strategies(data, at, service_name)
        behavior = self.behavior(data["behavior"], (*at, "behavior")) if "behavior" in data else Behavior()
        if self.errors or low is None or high is None or strategies is None or behavior is None:
            return None
        return Policy(low, high, strategies, behavior)

    def strategies(self, data: dict, at: Loc, service_name: str | None) -> tuple[Strategy, ...] | None:
        if "strategies" in data and "scaleStrategies" in data:
            self.fail((*at, "scaleStrategies"), "give strategies or its API form scaleStrategies, not both")
            return None
        found: list[Strategy] = []
        if "strategies" in data:
            loc = (*at, "strategies")
            given = data["strategies"]
            if not isinstance(given, dict):
                self.fail(loc, 'must be an object: metric → target per instance, e.g. {"qps": 10}')
                return None
            for name, target in given.items():
                found += self.strategy(name, target, (*loc, name), (*loc, name))
        elif "scaleStrategies" in data:
            loc = (*at, "scaleStrategies")
            if not isinstance(data["scaleStrategies"], list):
                self.fail(loc, 'must be an array, e.g. [{"metricName": "qps", "threshold": 10}]')
                return None
            seen: dict[str, int] = {}
            for i, item in enumerate(data["scaleStrategies"]):
                item = self.obj(item, (*loc, i), _STRATEGY_KEYS)
                if item is None:
                    continue
                name = self.required(item, "metricName", (*loc, i), "the metric, e.g. qps or cpu")
                target = self.required(item, "threshold", (*loc, i), "the target value per instance")
                service = item.get("service")
                # Without a known service name only the type can be checked.
                if "service" in item and (not isinstance(service, str) or service_name not in (None, service)):
                    message = "must be this service's own name or left out: a service scales on its own metrics"
                    self.fail((*loc, i, "service"), message)
                if isinstance(name, str) and name in seen:
                    message = f"duplicate metric '{name}' (also scaleStrategies[{seen[name]}])"
                    self.fail((*loc, i, "metricName"), message)
                    continue
                if isinstance(name, str):
                    seen[name] = i
                if "metricName" in item and "threshold" in item:
                    found += self.strategy(name, target, (*loc, i, "metricName"), (*loc, i, "threshold"))
        else:
            self.fail(at, 'give strategies: the metrics to scale on, e.g. {"qps": 10}')
            return None
        if not found and not self.errors:
            self.fail((*at, "strategies" if "strategies" in data else "scaleStrategies"), _EMPTY)
        return tuple(found)

    def strategy(self, name: object, target: object, name_loc: Loc, target_loc: Loc) -> list[Strategy]:
        ok = True
        if not isinstance(name, str) or metrics.lookup(name) is None:
            known = ", ".join(metrics.known_names())
            shown = json.dumps(name, ensure_ascii=False) if not isinstance(name, str) else f"'{name}'"
            self.fail(name_loc, f"unknown metric {shown}; Berth scales on {known}")
            ok = False
        if type(target) not in (int, float) or not math.isfinite(target) or target <= 0:
            self.fail(target_loc, "must be a number greater than 0: the target value per instance")
            ok = False
        return [Strategy(name, target)] if ok else []

    def behavior(self, value: object, loc: Loc) -> Behavior | None:
        data = self.obj(value, loc, _BEHAVIOR_KEYS)
        if data is None:
            return None
        windows = {}
        for key in ("scaleUp", "scaleDown"):
            part = self.obj(data[key], (*loc, key), _WINDOW_KEYS) if key in data else None
            if part and "stabilizationWindowSeconds" in part:
                windows[key] = self.int(
                    part["stabilizationWindowSeconds"], (*loc, key, "stabilizationWindowSeconds"), 0
                )
        zero = self.obj(data["onZero"], (*loc, "onZero"), _ON_ZERO_KEYS) if "onZero" in data else None
        zero = zero or {}
        grace = activation = intercept = None
        if "scaleDownGracePeriodSeconds" in zero:
            grace = self.int(zero["scaleDownGracePeriodSeconds"], (*loc, "onZero", "scaleDownGracePeriodSeconds"), 0)
        if "scaleUpActivationReplicas" in zero:
            activation_loc = (*loc, "onZero", "scaleUpActivationReplicas")
            activation = self.int(zero["scaleUpActivationReplicas"], activation_loc, 1, MAX_INSTANCES)
        if "interceptTraffic" in zero:
            intercept = zero["interceptTraffic"]
            if type(intercept) is not bool:
                self.fail((*loc, "onZero", "interceptTraffic"), "must be true or false")
        return Behavior(windows.get("scaleUp"), windows.get("scaleDown"), grace, activation, intercept)


_EMPTY = 'give at least one metric to scale on, e.g. {"qps": 10}'


def _unknown(key: str, allowed: tuple[str, ...]) -> str:
    match = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if match:
        return f"unknown key '{key}'; did you mean '{match[0]}'?"
    return f"unknown key '{key}'; the keys allowed here are {', '.join(allowed)}"


# The spec's path format (deployments.spec_checks.format_path), repeated so this package stays standalone.
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def format_path(loc: Loc) -> str:
    """`("autoscaler", "scaleStrategies", 0, "threshold")` → `autoscaler.scaleStrategies[0].threshold`."""
    parts: list[str] = []
    for part in loc:
        if type(part) is int:
            parts.append(f"[{part}]")
        elif _IDENTIFIER.fullmatch(part):
            parts.append(f".{part}" if parts else part)
        else:
            parts.append(f"[{json.dumps(part, ensure_ascii=False)}]")
    return "".join(parts)


# --- writing ------------------------------------------------------------------------------------


def to_config(policy: Policy) -> dict:
    """The config form (what a service config stores): strategies as a map, behavior only as given."""
    out: dict[str, Any] = {
        "min": policy.min,
        "max": policy.max,
        "strategies": {s.metric: s.target for s in policy.strategies},
    }
    behavior = _behavior(policy, defaults=False)
    if behavior:
        out["behavior"] = behavior
    return out


def to_api(policy: Policy, *, service: str | None = None, defaults: bool = True) -> dict:
    """The API form (what GET returns). `defaults=True` fills unset behavior with the values in force,
    so a reader sees every window; `service` is added to each strategy, as EAS's Describe does."""
    strategies = [
        {"metricName": s.metric, "threshold": s.target, **({"service": service} if service else {})}
        for s in policy.strategies
    ]
    out: dict[str, Any] = {"min": policy.min, "max": policy.max, "scaleStrategies": strategies}
    behavior = _behavior(policy, defaults=defaults)
    if behavior:
        out["behavior"] = behavior
    return out


def _behavior(policy: Policy, *, defaults: bool) -> dict:
    given = policy.behavior
    pick = {
        "up": policy.scale_up_window if defaults else given.scale_up_window,
        "down": policy.scale_down_window if defaults else given.scale_down_window,
        "grace": policy.zero_grace_period if defaults else given.zero_grace_period,
        "activation": policy.activation_replicas if defaults else given.activation_replicas,
    }
    out: dict[str, Any] = {}
    if pick["up"] is not None:
        out["scaleUp"] = {"stabilizationWindowSeconds": pick["up"]}
    if pick["down"] is not None:
        out["scaleDown"] = {"stabilizationWindowSeconds": pick["down"]}
    on_zero = {
        key: value
        for key, value in (
            ("scaleDownGracePeriodSeconds", pick["grace"]),
            ("scaleUpActivationReplicas", pick["activation"]),
            ("interceptTraffic", given.intercept_traffic),
        )
        if value is not None
    }
    if on_zero:
        out["onZero"] = on_zero
    return out


def api_to_config(body: object, *, service_name: str | None = None) -> tuple[dict | None, list[Issue]]:
    """PUT: an API-form body → (the config form to store, errors). Paths are relative to the body."""
    parsed = parse_autoscaler(body, service_name=service_name, at=())
    return (to_config(parsed.policy) if parsed.policy else None), parsed.errors


def config_to_api(config: object, *, service_name: str | None = None) -> dict:
    """GET: a stored (valid) config form → the API form with defaults filled in. Raises ValueError if invalid."""
    parsed = parse_autoscaler(config, service_name=service_name)
    if parsed.policy is None:
        raise ValueError(f"invalid stored autoscaler: {parsed.errors}")
    return to_api(parsed.policy, service=service_name)
