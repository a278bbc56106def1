"""deployments.autoscaling.policy: the autoscaler's settings through its two doors (reference §1.9, §5.1)."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from deployments.autoscaling.policy import (
    Behavior,
    Policy,
    Strategy,
    api_to_config,
    config_to_api,
    parse_autoscaler,
    to_api,
    to_config,
)

CONFIG = {"min": 1, "max": 10, "strategies": {"qps": 10, "cpu": 70}}
API = {
    "min": 1,
    "max": 10,
    "scaleStrategies": [{"metricName": "qps", "threshold": 10}, {"metricName": "cpu", "threshold": 70}],
}
BEHAVIOR = {
    "scaleUp": {"stabilizationWindowSeconds": 30},
    "scaleDown": {"stabilizationWindowSeconds": 120},
    "onZero": {"scaleDownGracePeriodSeconds": 900, "scaleUpActivationReplicas": 2, "interceptTraffic": True},
}


def errors(data, **kw) -> dict[str, str]:
    parsed = parse_autoscaler(data, **kw)
    assert parsed.policy is None
    return {issue["path"]: issue["message"] for issue in parsed.errors}


def test_it_reads_the_config_form():
    policy = parse_autoscaler(CONFIG).policy

    assert policy == Policy(1, 10, (Strategy("qps", 10), Strategy("cpu", 70)))


def test_the_api_form_reads_as_the_same_policy_as_the_config_form():
    assert parse_autoscaler(API, at=()).policy == parse_autoscaler(CONFIG).policy


def test_unset_behavior_takes_the_documented_defaults():
    policy = parse_autoscaler(CONFIG).policy

    assert (policy.scale_up_window, policy.scale_down_window) == (0, 300)
    assert (policy.zero_grace_period, policy.activation_replicas) == (600, 1)
    assert policy.tolerance == 0.1


def test_given_behavior_overrides_the_defaults():
    policy = parse_autoscaler({**CONFIG, "behavior": BEHAVIOR}).policy

    assert (policy.scale_up_window, policy.scale_down_window) == (30, 120)
    assert (policy.zero_grace_period, policy.activation_replicas) == (900, 2)
    assert policy.behavior.intercept_traffic is True


@pytest.mark.parametrize("form", [CONFIG, {**CONFIG, "behavior": BEHAVIOR}, {**CONFIG, "behavior": {"onZero": {}}}])
def test_the_config_form_round_trips_unchanged(form):
    expected = {key: value for key, value in form.items() if value != {"onZero": {}}}

    assert to_config(parse_autoscaler(form).policy) == expected


@pytest.mark.parametrize("form", [API, {**API, "behavior": BEHAVIOR}])
def test_the_api_form_round_trips_unchanged_without_defaults(form):
    assert to_api(parse_autoscaler(form, at=()).policy, defaults=False) == form


def test_get_returns_the_api_form_with_the_defaults_in_force():
    assert config_to_api(CONFIG, service_name="demo") == {
        "min": 1,
        "max": 10,
        "scaleStrategies": [
            {"metricName": "qps", "threshold": 10, "service": "demo"},
            {"metricName": "cpu", "threshold": 70, "service": "demo"},
        ],
        "behavior": {
            "scaleUp": {"stabilizationWindowSeconds": 0},
            "scaleDown": {"stabilizationWindowSeconds": 300},
            "onZero": {"scaleDownGracePeriodSeconds": 600, "scaleUpActivationReplicas": 1},
        },
    }


def test_put_stores_the_config_form_with_behavior_under_the_same_names():
    body = {**API, "scaleStrategies": [{**s, "service": "demo"} for s in API["scaleStrategies"]], "behavior": BEHAVIOR}

    stored, problems = api_to_config(body, service_name="demo")

    assert problems == []
    assert stored == {**CONFIG, "behavior": BEHAVIOR}


def test_what_put_stored_is_what_get_returns():
    body = {**API, "behavior": BEHAVIOR}

    stored, _ = api_to_config(body)

    assert config_to_api(stored) == body


def test_put_reports_paths_relative_to_the_body():
    stored, problems = api_to_config({"min": 1, "max": 2, "scaleStrategies": [{"metricName": "qps", "threshold": 0}]})

    assert stored is None
    assert problems == [
        {
            "path": "scaleStrategies[0].threshold",
            "message": "must be a number greater than 0: the target value per instance",
        }
    ]


def test_get_refuses_an_invalid_stored_setting():
    with pytest.raises(ValueError, match="invalid stored autoscaler"):
        config_to_api({"min": 3, "max": 1, "strategies": {"qps": 1}})


def test_min_zero_is_accepted_in_both_forms_for_scale_to_zero():
    assert parse_autoscaler({**CONFIG, "min": 0}).policy.min == 0
    assert parse_autoscaler({**API, "min": 0}, at=()).policy.min == 0


def test_a_float_target_stays_a_float_and_an_int_stays_an_int():
    policy = parse_autoscaler({"min": 1, "max": 2, "strategies": {"qps": 2.5, "cpu": 80}}).policy

    assert to_config(policy)["strategies"] == {"qps": 2.5, "cpu": 80}
    assert type(to_config(policy)["strategies"]["cpu"]) is int


# --- validation ---------------------------------------------------------------------------------


def test_it_rejects_min_above_max_at_min():
    assert errors({"min": 5, "max": 2, "strategies": {"qps": 1}}) == {"autoscaler.min": "must be at most max (2)"}


def test_it_requires_min_and_max():
    found = errors({"strategies": {"qps": 1}})

    assert found["autoscaler.min"].startswith("required: the minimum number of instances")
    assert found["autoscaler.max"] == "required: the maximum number of instances, at most 3000"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("min", -1, "must be an integer between 0 and 3000"),
        ("min", 1.5, "must be an integer between 0 and 3000"),
        ("max", 3001, "must be an integer between 1 and 3000"),
        ("max", True, "must be an integer between 1 and 3000"),
        ("max", "5", "must be an integer between 1 and 3000"),
    ],
)
def test_it_rejects_bad_bounds(key, value, message):
    assert errors({**CONFIG, key: value})[f"autoscaler.{key}"] == message


@pytest.mark.parametrize("target", [0, -3, True, "10", None, float("inf")])
def test_it_rejects_a_target_that_is_not_a_positive_number(target):
    found = errors({"min": 1, "max": 2, "strategies": {"qps": target}})

    assert found == {"autoscaler.strategies.qps": "must be a number greater than 0: the target value per instance"}


def test_it_names_the_metrics_it_knows_when_one_is_unknown():
    found = errors({"min": 1, "max": 2, "strategies": {"latency": 5}})

    message = found["autoscaler.strategies.latency"]
    assert message.startswith("unknown metric 'latency'; Berth scales on qps, cpu, gpu[util]")
    assert "queue[backlog]" in message and "custom[<name>]" in message


def test_metric_names_with_brackets_are_quoted_in_paths():
    found = errors({"min": 1, "max": 2, "strategies": {"gpu[util]": 0}})

    assert list(found) == ['autoscaler.strategies["gpu[util]"]']


def test_custom_metrics_are_accepted_by_their_family_name():
    policy = parse_autoscaler({"min": 1, "max": 2, "strategies": {"custom[latency]@model[a]": 100}}).policy

    assert policy.strategies == (Strategy("custom[latency]@model[a]", 100),)


def test_it_rejects_both_strategy_forms_at_once():
    found = errors({**CONFIG, "scaleStrategies": API["scaleStrategies"]})

    assert found == {"autoscaler.scaleStrategies": "give strategies or its API form scaleStrategies, not both"}


def test_it_needs_at_least_one_metric():
    assert errors({"min": 1, "max": 2}) == {"autoscaler": 'give strategies: the metrics to scale on, e.g. {"qps": 10}'}
    assert errors({"min": 1, "max": 2, "strategies": {}}) == {
        "autoscaler.strategies": 'give at least one metric to scale on, e.g. {"qps": 10}'
    }


def test_it_suggests_the_key_meant_for_a_misspelt_one():
    found = errors({**CONFIG, "behavior": {"scaleDown": {"stabilisationWindowSeconds": 60}}})

    assert found == {
        "autoscaler.behavior.scaleDown.stabilisationWindowSeconds": (
            "unknown key 'stabilisationWindowSeconds'; did you mean 'stabilizationWindowSeconds'?"
        )
    }


def test_it_lists_the_allowed_keys_when_nothing_is_close():
    found = errors({**CONFIG, "cooldown": 5})

    assert found["autoscaler.cooldown"] == (
        "unknown key 'cooldown'; the keys allowed here are min, max, strategies, scaleStrategies, behavior"
    )


def test_it_rejects_bad_behavior_values_at_their_paths():
    found = errors(
        {
            **CONFIG,
            "behavior": {
                "scaleUp": {"stabilizationWindowSeconds": -1},
                "onZero": {"scaleUpActivationReplicas": 0, "interceptTraffic": "yes"},
            },
        }
    )

    assert found == {
        "autoscaler.behavior.scaleUp.stabilizationWindowSeconds": "must be an integer of at least 0",
        "autoscaler.behavior.onZero.scaleUpActivationReplicas": "must be an integer between 1 and 3000",
        "autoscaler.behavior.onZero.interceptTraffic": "must be true or false",
    }


def test_a_strategy_may_name_only_its_own_service():
    strategies = [{"metricName": "qps", "threshold": 10, "service": "other"}]

    found = errors({"min": 1, "max": 2, "scaleStrategies": strategies}, service_name="demo")

    assert found == {
        "autoscaler.scaleStrategies[0].service": (
            "must be this service's own name or left out: a service scales on its own metrics"
        )
    }


def test_it_rejects_a_metric_listed_twice_in_the_api_form():
    strategies = [{"metricName": "qps", "threshold": 10}, {"metricName": "qps", "threshold": 20}]

    found = errors({"min": 1, "max": 2, "scaleStrategies": strategies})

    assert found == {"autoscaler.scaleStrategies[1].metricName": "duplicate metric 'qps' (also scaleStrategies[0])"}


def test_it_requires_both_fields_of_a_listed_strategy():
    found = errors({"min": 1, "max": 2, "scaleStrategies": [{"metricName": "qps"}]})

    assert found == {"autoscaler.scaleStrategies[0].threshold": "required: the target value per instance"}


@pytest.mark.parametrize("data", [None, [], "qps", 3, {"min": 1, "max": 2, "scaleStrategies": {"qps": 1}}])
def test_it_never_raises_on_malformed_input(data):
    parsed = parse_autoscaler(data)

    assert parsed.policy is None and parsed.errors


# --- properties ---------------------------------------------------------------------------------

targets = st.one_of(st.integers(1, 10_000), st.floats(0.01, 1e6, allow_nan=False, allow_infinity=False))
windows = st.one_of(st.none(), st.integers(0, 86_400))


@st.composite
def policies(draw) -> Policy:
    high = draw(st.integers(1, 3000))
    names = draw(st.lists(st.sampled_from(["qps", "cpu", "gpu[util]", "queue[backlog]"]), min_size=1, unique=True))
    behavior = Behavior(
        draw(windows),
        draw(windows),
        draw(windows),
        draw(st.one_of(st.none(), st.integers(1, 3000))),
        draw(st.one_of(st.none(), st.booleans())),
    )
    return Policy(draw(st.integers(0, high)), high, tuple(Strategy(n, draw(targets)) for n in names), behavior)


@given(policies())
def test_any_policy_survives_the_config_form(policy):
    assert parse_autoscaler(to_config(policy)).policy == policy


@given(policies())
def test_any_policy_survives_the_api_form(policy):
    assert parse_autoscaler(to_api(policy, defaults=False), at=()).policy == policy


@given(policies())
def test_the_two_doors_agree_on_every_setting_in_force(policy):
    through_api = parse_autoscaler(to_api(policy, defaults=True), at=()).policy

    assert to_api(through_api) == to_api(policy)


def _service_config(autoscaler: dict) -> dict:
    container = {"image": "registry.example.com/team/app:1.0", "command": "python app.py", "port": 8000}
    return {"name": "demo_service", "containers": [container], "metadata": {"instance": 1}, "autoscaler": autoscaler}


@given(policies(), st.booleans())
def test_the_service_config_stores_exactly_the_config_form(policy, api_form):
    # The spec canonicalises a service config's autoscaler; it must be this module's config form,
    # or a setting written through the endpoint would read back differently through the config.
    from deployments.spec import validate_config

    written = to_api(policy, defaults=False) if api_form else to_config(policy)

    result = validate_config(_service_config(written))

    assert result.errors == []
    assert result.config["autoscaler"] == to_config(policy)
