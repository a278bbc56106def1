"""deployments.spec: validating, normalising and storing service configs (eas.md §1 and §6).

Golden files in golden/: <case>.in.json is what a user sends, <case>.out.json the
canonical config Berth stores. No database needed.
"""

import base64
import copy
import json
import math
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deployments import spec
from deployments.spec import (
    ALIBABA_ONLY_KEYS,
    NOT_ENFORCED_YET_KEYS,
    SECRET_MASK,
    ServiceSpec,
    canonical_json,
    join_secrets,
    mask_secrets,
    service_config_json_schema,
    split_secrets,
    validate_config,
)

GOLDEN = Path(__file__).parent / "golden"
CASES = sorted(path.name.removesuffix(".in.json") for path in GOLDEN.glob("*.in.json"))
NAME_RULE = "must be 3 to 63 characters: lowercase letters, digits and underscores, starting with a letter"
PORT_RULE = "must be an integer between 1 and 65535"


def minimal(**top) -> dict:
    """The smallest valid config, with top-level keys replaced by `top`."""
    config = {
        "name": "demo_service",
        "containers": [{"image": "registry.example.com/team/app:1.0", "command": "python app.py", "port": 8000}],
        "metadata": {"instance": 1},
    }
    config.update(top)
    return config


def with_container(**keys) -> dict:
    config = minimal()
    config["containers"][0].update(keys)
    return config


def with_metadata(**keys) -> dict:
    config = minimal()
    config["metadata"].update(keys)
    return config


def issues_at(issues: list, path: str) -> list[str]:
    return [issue["message"] for issue in issues if issue["path"] == path]


def the_error(config: object, path: str) -> str:
    """The one error at `path` (and the config must be rejected)."""
    result = validate_config(config)
    assert not result.ok and result.config is None
    messages = issues_at(result.errors, path)
    assert len(messages) == 1, result.errors
    return messages[0]


def golden(case: str, kind: str) -> str:
    return (GOLDEN / f"{case}.{kind}.json").read_text()


# --- golden files -------------------------------------------------------------------------------


def test_the_golden_files_cover_the_documented_examples():
    for case in [
        "composite_1_12",
        "storage_samples_1_6",
        "guide_simple_command",
        "guide_python_requirements",
        "guide_http_health_check",
        "guide_enable_grpc",
        "guide_oss_storage_docker_auth",
        "dotted_keys",
        "metadata_name",
    ]:
        assert case in CASES
        assert (GOLDEN / f"{case}.out.json").exists()


@pytest.mark.parametrize("case", CASES)
def test_a_golden_input_normalises_to_its_golden_output(case):
    result = validate_config(json.loads(golden(case, "in")))

    assert result.errors == []
    assert canonical_json(result.config) == golden(case, "out")


@pytest.mark.parametrize("case", CASES)
def test_a_golden_output_is_a_fixed_point(case):
    result = validate_config(json.loads(golden(case, "out")))

    assert result.errors == []
    assert canonical_json(result.config) == golden(case, "out")


@pytest.mark.parametrize("case", CASES)
def test_golden_inputs_and_outputs_satisfy_the_published_json_schema(case):
    validator = jsonschema.Draft202012Validator(service_config_json_schema())

    validator.validate(json.loads(golden(case, "in")))
    validator.validate(json.loads(golden(case, "out")))


def test_the_http_health_check_example_probes_hello_model_on_port_8000():
    config = validate_config(json.loads(golden("guide_http_health_check", "in"))).config

    probe = config["containers"][0]["health_check"]
    assert probe["http_get"] == {"path": "/hello/model", "port": 8000}


# --- canonical form -----------------------------------------------------------------------------


def test_canonical_json_is_indented_by_two_keeps_unicode_and_ends_with_a_newline():
    text = canonical_json({"name": "café_x", "labels": {"owner": "José"}})

    assert text == '{\n  "name": "café_x",\n  "labels": {\n    "owner": "José"\n  }\n}\n'


def test_it_moves_metadata_name_to_the_top_level():
    config = minimal()
    del config["name"]
    config["metadata"]["name"] = "from_metadata"

    result = validate_config(config)

    assert result.config["name"] == "from_metadata"
    assert "name" not in result.config["metadata"]
    assert next(iter(result.config)) == "name"


def test_it_accepts_the_same_name_at_the_top_level_and_in_metadata():
    result = validate_config(with_metadata(name="demo_service"))

    assert result.ok
    assert "name" not in result.config["metadata"]


def test_it_nests_dotted_metadata_keys():
    config = with_metadata(**{"rpc.keepalive": 5000, "eas.termination_grace_period": 10})

    metadata = validate_config(config).config["metadata"]

    assert metadata["rpc"] == {"keepalive": 5000}
    assert metadata["eas"] == {"termination_grace_period": 10}
    assert not [key for key in metadata if "." in key]


def test_it_accepts_the_same_value_in_dotted_and_nested_form():
    config = with_metadata(**{"rpc.keepalive": 5000, "rpc": {"keepalive": 5000}})

    assert validate_config(config).config["metadata"]["rpc"] == {"keepalive": 5000}


def test_it_writes_readiness_check_as_health_check():
    config = with_container(readiness_check={"tcp_socket": {"port": 8000}})

    container = validate_config(config).config["containers"][0]

    assert container["health_check"] == {"tcp_socket": {"port": 8000}}
    assert "readiness_check" not in container


def test_it_moves_runtime_termination_grace_period_into_metadata_eas():
    config = minimal(runtime={"termination_grace_period": 20})

    result = validate_config(config)

    assert result.config["metadata"]["eas"] == {"termination_grace_period": 20}
    assert result.config["runtime"] == {}


def test_it_moves_metadata_autoscaler_to_the_top_level():
    config = with_metadata(autoscaler={"min": 1, "max": 3, "strategies": {"qps": 5}})

    result = validate_config(config)

    assert result.config["autoscaler"] == {"min": 1, "max": 3, "strategies": {"qps": 5}}
    assert "autoscaler" not in result.config["metadata"]


def test_it_writes_openapi_scale_strategies_as_a_strategies_map():
    autoscaler = {"min": 1, "max": 3, "scaleStrategies": [{"metricName": "qps", "threshold": 10}]}

    result = validate_config(minimal(autoscaler=autoscaler))

    assert result.config["autoscaler"] == {"min": 1, "max": 3, "strategies": {"qps": 10}}


def test_it_puts_keys_in_the_canonical_order():
    config = {
        "berth": {"registry_credential": "team"},
        "labels": {"b": "1", "a": "2"},
        "metadata": {"memory": 512, "instance": 1},
        "storage": [{"empty_dir": {}, "mount_path": "/cache"}],
        "containers": [{"port": 8000, "command": "run", "image": "app"}],
        "dockerAuth": base64.b64encode(b"user:pass").decode(),
        "token": "tok",
        "name": "ordered",
    }

    result = validate_config(config).config

    assert list(result) == ["name", "token", "dockerAuth", "containers", "storage", "metadata", "labels", "berth"]
    assert list(result["containers"][0]) == ["image", "command", "port"]
    assert list(result["storage"][0]) == ["mount_path", "empty_dir"]
    assert list(result["metadata"]) == ["instance", "memory"]
    # Free-form maps keep the user's order.
    assert list(result["labels"]) == ["b", "a"]


def test_it_does_not_fill_in_defaults():
    result = validate_config(with_container(health_check={"http_get": {"path": "/health"}}))

    assert result.config == {
        "name": "demo_service",
        "containers": [
            {
                "image": "registry.example.com/team/app:1.0",
                "command": "python app.py",
                "port": 8000,
                "health_check": {"http_get": {"path": "/health"}},
            }
        ],
        "metadata": {"instance": 1},
    }


def test_it_keeps_the_users_trailing_slash_on_mount_paths():
    config = minimal(storage=[{"mount_path": "/models/", "empty_dir": {}}])

    assert validate_config(config).config["storage"][0]["mount_path"] == "/models/"


def test_it_does_not_modify_its_input():
    config = json.loads(golden("dotted_keys", "in"))
    config["containers"][0]["readiness_check"] = {"tcp_socket": {}}
    config["metadata"]["name"] = "dotted_service"
    before = copy.deepcopy(config)

    validate_config(config)

    assert config == before


def test_the_canonical_config_is_the_models_dump():
    config = json.loads(golden("composite_1_12", "out"))

    assert ServiceSpec.model_validate(config).canonical() == validate_config(config).config


# --- errors: names ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["ab", "a" * 64, "Demo", "1demo", "_demo", "demo-service", "demo service", "démo", "", 5, None]
)
def test_it_enforces_the_eas_service_name_rule(name):
    message = the_error(minimal(name=name), "name")

    assert message == NAME_RULE or (name is None and message.startswith("must not be null"))


@pytest.mark.parametrize("name", ["abc", "a" + "b" * 62, "demo_service_2", "a__b"])
def test_it_accepts_names_within_the_rule(name):
    assert validate_config(minimal(name=name)).ok


def test_it_requires_a_name():
    config = minimal()
    del config["name"]

    assert the_error(config, "name").startswith("required")


def test_it_rejects_different_names_at_the_top_level_and_in_metadata():
    message = the_error(with_metadata(name="other_name"), "metadata.name")

    assert "give the service name once" in message


def test_it_reports_a_bad_metadata_name_at_metadata_name():
    config = minimal()
    del config["name"]
    config["metadata"]["name"] = "Bad-Name"

    assert the_error(config, "metadata.name") == NAME_RULE


# --- errors: containers -------------------------------------------------------------------------


def test_it_rejects_port_8080():
    message = the_error(with_container(port=8080), "containers[0].port")

    assert "reserved" in message and "8080" in message and "9090" in message


def test_it_rejects_port_9090():
    assert "reserved" in the_error(with_container(port=9090), "containers[0].port")


@pytest.mark.parametrize("port", [0, -1, 65536, "8000", 8000.0, True, [8000], {"port": 8000}])
def test_it_rejects_ports_that_are_not_integers_between_1_and_65535(port):
    assert the_error(with_container(port=port), "containers[0].port") == PORT_RULE


def test_it_rejects_both_command_and_script():
    message = the_error(with_container(script="cd /app; ./run"), "containers[0]")

    assert message == "give either command or script, not both"


def test_it_requires_a_command_or_a_script():
    config = minimal()
    del config["containers"][0]["command"]

    assert "command" in the_error(config, "containers[0]")


def test_it_rejects_a_bad_env_name_at_its_index():
    env = [{"name": "GOOD", "value": "1"}, {"name": "1BAD", "value": "2"}]

    message = the_error(with_container(env=env), "containers[0].env[1].name")

    assert message.startswith("must be a variable name")


def test_it_rejects_duplicate_env_names_within_a_container():
    env = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}, {"name": "A", "value": "3"}]

    message = the_error(with_container(env=env), "containers[0].env[2].name")

    assert "duplicate" in message and "env[0]" in message


def test_it_rejects_env_values_that_are_not_strings():
    env = [{"name": "A", "value": 1}]

    assert the_error(with_container(env=env), "containers[0].env[0].value") == "must be a string"


def test_it_requires_at_least_one_container():
    assert the_error(minimal(containers=[]), "containers") == "must list at least one container"


def test_it_requires_the_container_to_set_port():
    config = minimal()
    del config["containers"][0]["port"]

    assert the_error(config, "containers[0].port").startswith("required")


def test_it_requires_one_of_several_containers_to_set_port():
    config = minimal(containers=[{"image": "a", "command": "x"}, {"image": "b", "command": "y"}])

    assert "one container must set port" in the_error(config, "containers")


def test_it_rejects_a_second_container_with_port():
    first, second = {"image": "a", "command": "x", "port": 8000}, {"image": "b", "command": "y", "port": 8001}
    config = minimal(containers=[first, second])

    assert "only one container may set port" in the_error(config, "containers[1].port")


@pytest.mark.parametrize(
    "image",
    [
        "nginx",
        "nginx:1.27-alpine",
        "library/nginx",
        "docker.io/library/nginx:latest",
        "localhost:5000/team/app",
        "registry-vpc.cn-shanghai.aliyuncs.com/ns/app:1.0",
        "eas-registry-vpc.cn-shanghai.cr.aliyuncs.com/pai-eas/python-inference:py39-ubuntu2004",
        "ghcr.io/acme/my_app__x/sub-part.name:v1.2.3_rc",
        "[::1]:5000/app:tag",
        "Registry.Example.com/team/app",
        "app@sha256:" + "a" * 64,
        "registry.example.com/app:1.0@sha256:" + "0" * 64,
    ],
)
def test_it_accepts_docker_image_references(image):
    assert validate_config(with_container(image=image)).ok


@pytest.mark.parametrize(
    "image",
    [
        "",
        "https://registry.example.com/app",
        "registry.example.com/app:",
        "app:tag with space",
        "app@sha256:abc",
        "app@md5:" + "a" * 32,
        "-app",
        "app/",
        "registry.example.com//app",
        "app:" + "t" * 129,
        "app:-tag",
        1,
    ],
)
def test_it_rejects_malformed_image_references(image):
    assert the_error(with_container(image=image), "containers[0].image").startswith("must be")


def test_it_asks_for_a_lowercase_repository():
    message = the_error(with_container(image="registry.example.com/Team/App:1.0"), "containers[0].image")

    assert message == "the repository part of an image reference must be lowercase"


# --- errors: probes -----------------------------------------------------------------------------


def test_it_rejects_a_health_check_period_of_0():
    probe = {"tcp_socket": {"port": 8000}, "period_seconds": 0}

    message = the_error(with_container(health_check=probe), "containers[0].health_check.period_seconds")

    assert message == "must be an integer of at least 1"


@pytest.mark.parametrize("key", ["timeout_seconds", "success_threshold", "failure_threshold"])
def test_it_rejects_probe_timings_below_1(key):
    probe = {"tcp_socket": {}, key: 0}

    assert the_error(with_container(liveness_check=probe), f"containers[0].liveness_check.{key}")


def test_it_accepts_an_initial_delay_of_0_but_not_below():
    assert validate_config(with_container(health_check={"tcp_socket": {}, "initial_delay_seconds": 0})).ok

    probe = {"tcp_socket": {}, "initial_delay_seconds": -1}
    assert the_error(with_container(health_check=probe), "containers[0].health_check.initial_delay_seconds")


@pytest.mark.parametrize("probe", [{}, {"tcp_socket": {}, "http_get": {"path": "/"}}, {"period_seconds": 3}])
def test_it_wants_exactly_one_probe_method(probe):
    message = the_error(with_container(startup_check=probe), "containers[0].startup_check")

    assert message.startswith("give exactly one of tcp_socket, http_get or exec")


def test_it_rejects_health_check_and_readiness_check_together():
    probe = {"tcp_socket": {}}

    message = the_error(with_container(health_check=probe, readiness_check=probe), "containers[0].readiness_check")

    assert "another name for health_check" in message


def test_it_reports_readiness_check_errors_where_the_user_wrote_them():
    probe = {"tcp_socket": {}, "period_seconds": 0}

    assert the_error(with_container(readiness_check=probe), "containers[0].readiness_check.period_seconds")


def test_it_rejects_an_http_probe_path_that_is_not_absolute():
    probe = {"http_get": {"path": "health"}}

    assert "absolute path" in the_error(with_container(health_check=probe), "containers[0].health_check.http_get.path")


# --- errors: storage ----------------------------------------------------------------------------


def test_it_rejects_a_duplicate_mount_path_even_with_a_trailing_slash():
    storage = [{"mount_path": "/models", "empty_dir": {}}, {"mount_path": "/models/", "empty_dir": {}}]

    message = the_error(minimal(storage=storage), "storage[1].mount_path")

    assert "duplicate mount path" in message and "storage[0]" in message


@pytest.mark.parametrize("path", ["models", "./models", "", "/"])
def test_it_rejects_mount_paths_that_are_not_absolute_directories(path):
    assert the_error(minimal(storage=[{"mount_path": path, "empty_dir": {}}]), "storage[0].mount_path")


@pytest.mark.parametrize(
    "mount",
    [{"mount_path": "/a"}, {"mount_path": "/a", "empty_dir": {}, "oss": {"path": "oss://b/"}}],
)
def test_it_wants_exactly_one_mount_type(mount):
    assert the_error(minimal(storage=[mount]), "storage[0]").startswith("give exactly one of oss, nfs, git")


def test_it_accepts_git_mounts_over_https_only():
    mount = {"mount_path": "/code", "git": {"repo": "http://example.com/x.git"}}

    assert "https" in the_error(minimal(storage=[mount]), "storage[0].git.repo")


def test_it_wants_oss_paths_with_the_oss_scheme():
    mount = {"mount_path": "/m", "oss": {"path": "s3://bucket/"}}

    assert "oss://" in the_error(minimal(storage=[mount]), "storage[0].oss.path")


# --- errors: metadata ---------------------------------------------------------------------------


def test_it_rejects_a_negative_instance_count():
    assert the_error(with_metadata(instance=-1), "metadata.instance") == "must be an integer of at least 0"


def test_it_requires_metadata_instance():
    assert the_error(minimal(metadata={"cpu": 1}), "metadata.instance").startswith("required")


def test_it_requires_metadata():
    config = minimal()
    del config["metadata"]

    assert the_error(config, "metadata").startswith("required")


@pytest.mark.parametrize("key", ["memory", "cpu"])
def test_it_rejects_zero_memory_and_cpu(key):
    assert the_error(with_metadata(**{key: 0}), f"metadata.{key}") == "must be an integer of at least 1"


@pytest.mark.parametrize(
    ("key", "value"),
    [("instance", True), ("memory", False), ("cpu", 1.5), ("instance", 2.0), ("memory", "512"), ("shm_size", [])],
)
def test_it_rejects_bools_floats_and_strings_where_integers_are_expected(key, value):
    assert the_error(with_metadata(**{key: value}), f"metadata.{key}").startswith("must be an integer")


def test_it_rejects_integers_too_large_for_the_database():
    assert the_error(with_metadata(instance=2**40), "metadata.instance") == "must be at most 2147483647"


def test_it_rejects_null_and_says_to_leave_the_key_out():
    assert "leave the key out" in the_error(with_metadata(memory=None), "metadata.memory")


@pytest.mark.parametrize("value", [{"max_surge": 0, "max_unavailable": 0}, {"max_surge": "0%", "max_unavailable": 0}])
def test_it_rejects_a_rolling_strategy_that_could_never_progress(value):
    assert "cannot both be 0" in the_error(with_metadata(rolling_strategy=value), "metadata.rolling_strategy")


@pytest.mark.parametrize("value", ["150%", "-1%", "1.5%", "25", -1, 1.5, True])
def test_it_wants_rolling_values_as_counts_or_percentages(value):
    config = with_metadata(rolling_strategy={"max_surge": value})

    assert "percentage" in the_error(config, "metadata.rolling_strategy.max_surge")


def test_it_requires_gpu_memory_for_gpu_core_percentage():
    assert "gpu_memory" in the_error(with_metadata(gpu_core_percentage=50), "metadata.gpu_core_percentage")


def test_it_reports_dotted_key_errors_at_the_dotted_key():
    message = the_error(with_metadata(**{"rpc.keepalive": -5}), 'metadata["rpc.keepalive"]')

    assert message == "must be an integer of at least 1"


def test_it_rejects_a_dotted_key_that_conflicts_with_the_nested_form():
    config = with_metadata(**{"rpc.keepalive": 1000, "rpc": {"keepalive": 2000}})

    assert "different value" in the_error(config, 'metadata["rpc.keepalive"]')


def test_it_treats_dotted_keys_of_unknown_objects_as_unknown_keys():
    assert the_error(with_metadata(**{"foo.bar": 1}), 'metadata["foo.bar"]').startswith("unknown key 'foo.bar'")


# --- errors: unknown keys -----------------------------------------------------------------------


def test_it_names_an_unknown_key_and_suggests_the_closest():
    config = minimal()
    config["contaners"] = config.pop("containers")

    result = validate_config(config)

    assert "unknown key 'contaners'; did you mean 'containers'?" in issues_at(result.errors, "contaners")


@pytest.mark.parametrize(
    ("config", "path", "suggestion"),
    [
        (with_container(helth_check={"tcp_socket": {}}), "containers[0].helth_check", "health_check"),
        (with_metadata(instanse=1), "metadata.instanse", "instance"),
        (with_metadata(**{"rpc": {"keepalve": 1}}), "metadata.rpc.keepalve", "keepalive"),
        (
            minimal(storage=[{"mount_path": "/m", "oss": {"path": "oss://b/", "readonly": True}}]),
            "storage[0].oss.readonly",
            "readOnly",
        ),
        (minimal(DockerAuth="x"), "DockerAuth", "dockerAuth"),
        (with_container(readines_check={}), "containers[0].readines_check", "readiness_check"),
    ],
)
def test_it_suggests_keys_at_every_level(config, path, suggestion):
    assert the_error(config, path).endswith(f"did you mean '{suggestion}'?")


def test_it_lists_the_allowed_keys_when_none_is_close():
    config = with_container(health_check={"tcp_socket": {"zzz": 1}})

    message = the_error(config, "containers[0].health_check.tcp_socket.zzz")

    assert message == "unknown key 'zzz'; the keys allowed here are port"


def test_it_rejects_unknown_keys_inside_berth():
    message = the_error(minimal(berth={"registry_credentials": "x"}), "berth.registry_credentials")

    assert message == "unknown key 'registry_credentials'; did you mean 'registry_credential'?"


# --- errors: other sections ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "why"),
    [
        ("not base64!", "not valid base64"),
        (base64.b64encode(b"userpass").decode(), "without a ':'"),
        (base64.b64encode(b":pass").decode(), "user name before ':' is empty"),
        (base64.b64encode(b"\xff\xfe:x").decode(), "not valid base64"),
        ("dXNlcjpwYXNz\n", "not valid base64"),
        ("", "without a ':'"),
    ],
)
def test_it_rejects_docker_auth_that_is_not_base64_of_user_and_password(auth, why):
    message = the_error(minimal(dockerAuth=auth), "dockerAuth")

    assert message.startswith("must be base64 of 'user:password'") and why in message


def test_it_accepts_docker_auth_with_an_empty_password():
    assert validate_config(minimal(dockerAuth=base64.b64encode(b"robot:").decode())).ok


@pytest.mark.parametrize("token", ["", "has space", "tab\there", "ünïcode"])
def test_it_rejects_tokens_that_cannot_travel_in_a_header(token):
    assert "HTTP header" in the_error(minimal(token=token), "token")


def test_it_rejects_autoscaler_min_above_max():
    config = minimal(autoscaler={"min": 5, "max": 2, "strategies": {"qps": 1}})

    assert the_error(config, "autoscaler.min") == "must be at most max (2)"


def test_it_rejects_strategies_given_in_both_forms():
    autoscaler = {
        "min": 1,
        "max": 2,
        "strategies": {"qps": 1},
        "scaleStrategies": [{"metricName": "cpu", "threshold": 5}],
    }

    assert "not both" in the_error(minimal(autoscaler=autoscaler), "autoscaler.scaleStrategies")


def test_it_rejects_a_scale_strategy_for_another_service():
    autoscaler = {"min": 1, "max": 2, "scaleStrategies": [{"metricName": "qps", "threshold": 1, "service": "other"}]}

    assert the_error(minimal(autoscaler=autoscaler), "autoscaler.scaleStrategies[0].service")


def test_it_rejects_a_cron_schedule_without_a_seconds_field():
    cronscaler = {"ScaleJobs": [{"Name": "up", "Schedule": "0 8 * * *", "TargetSize": 2}]}

    assert "6-field" in the_error(minimal(cronscaler=cronscaler), "cronscaler.ScaleJobs[0].Schedule")


def test_it_rejects_label_values_that_are_not_strings():
    assert the_error(minimal(labels={"team": 1}), "labels.team") == "must be a string"


def test_it_quotes_keys_that_are_not_identifiers_in_paths():
    assert the_error(minimal(labels={"a.b/c": None}), 'labels["a.b/c"]')


@pytest.mark.parametrize(
    ("config", "path"),
    [
        (minimal(name="demo_service\n"), "name"),
        (with_container(image="nginx\n"), "containers[0].image"),
        (with_container(env=[{"name": "A\n", "value": ""}]), "containers[0].env[0].name"),
        (minimal(token="token\n"), "token"),
        (with_metadata(rolling_strategy={"max_surge": "25%\n"}), "metadata.rolling_strategy.max_surge"),
    ],
)
def test_it_rejects_a_trailing_newline_in_checked_strings(config, path):
    assert the_error(config, path)


# --- errors: not a config at all ----------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, [], [minimal()], "{}", 0, 1.5, True])
def test_it_rejects_anything_but_a_json_object(raw):
    assert the_error(raw, "").startswith("a service config must be a JSON object")


@pytest.mark.parametrize(
    ("value", "why"),
    [
        (float("nan"), "finite"),
        (float("inf"), "finite"),
        (10**30, "64 bits"),
        ({1, 2}, "JSON value"),
        (b"bytes", "JSON value"),
        ("nul\x00byte", "NUL"),
        ("\ud800", "surrogate"),
        ({1: "x"}, "keys must be strings"),
    ],
)
def test_it_reports_values_that_json_cannot_hold(value, why):
    assert why in the_error(minimal(cloud={"x": value}), "cloud.x")


def test_it_limits_nesting_depth_without_recursing():
    deep: object = "bottom"
    for _ in range(100_000):
        deep = [deep]

    result = validate_config(minimal(cloud={"deep": deep}))

    assert not result.ok
    assert "nested too deeply" in result.errors[0]["message"]


# --- masked secrets -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "path"),
    [
        (minimal(dockerAuth=SECRET_MASK), "dockerAuth"),
        (minimal(token=SECRET_MASK), "token"),
        (
            minimal(storage=[{"mount_path": "/c", "git": {"repo": "https://x/y.git", "password": SECRET_MASK}}]),
            "storage[0].git.password",
        ),
    ],
)
def test_it_rejects_a_masked_secret_that_has_no_stored_value(config, path):
    assert the_error(config, path) == "this is a masked value; enter the real value"


# --- warnings -----------------------------------------------------------------------------------


def test_it_warns_that_alibaba_only_keys_are_ignored_and_keeps_them():
    config = minimal(cloud={"networking": {"vpc_id": "vpc-1"}}, sinker={"type": "sls"})
    config["metadata"]["resource"] = "eas-r-1"
    config["storage"] = [{"mount_path": "/ds", "dataset": {"id": "d-1"}}]

    result = validate_config(config)

    assert result.ok
    warnings = {issue["path"]: issue["message"] for issue in result.warnings}
    assert warnings == {
        "cloud": "ignored: cloud only applies on Alibaba Cloud",
        "sinker": "ignored: sinker only applies on Alibaba Cloud",
        "metadata.resource": "ignored: resource only applies on Alibaba Cloud",
        "storage[0].dataset": "ignored: dataset only applies on Alibaba Cloud",
    }
    assert result.config["cloud"] == {"networking": {"vpc_id": "vpc-1"}}
    assert result.config["metadata"]["resource"] == "eas-r-1"


def test_it_warns_that_keys_for_later_are_accepted_but_not_enforced():
    config = minimal(autoscaler={"min": 1, "max": 2, "strategies": {"qps": 1}})
    config["metadata"]["rpc"] = {"worker_threads": 4}

    result = validate_config(config)

    assert result.ok
    assert [issue["path"] for issue in result.warnings] == ["metadata.rpc.worker_threads"]
    assert all(issue["message"].startswith("accepted, not enforced yet") for issue in result.warnings)


def test_it_does_not_warn_about_honoured_keys():
    config = minimal(labels={"team": "ml"})
    config["metadata"].update(rpc={"keepalive": 1000}, cpu=1, memory=512, enable_grpc=True)

    assert validate_config(config).warnings == []


def test_it_reports_warnings_where_the_user_wrote_the_key():
    config = with_metadata(autoscaler={"min": 1, "max": 2, "strategies": {"qps": 1}}, **{"rpc.rate_limit": 10})

    paths = [issue["path"] for issue in validate_config(config).warnings]

    assert paths == ['metadata["rpc.rate_limit"]']


def test_it_gives_warnings_with_errors_too():
    config = minimal(cloud={})
    config["metadata"]["instance"] = -1

    result = validate_config(config)

    assert result.errors and result.warnings


def test_the_key_tables_do_not_overlap_and_name_keys_of_the_model():
    assert not set(ALIBABA_ONLY_KEYS) & set(NOT_ENFORCED_YET_KEYS)
    schema = service_config_json_schema()

    def resolve(node, part):
        if "$ref" in node:
            node = schema["$defs"][node["$ref"].rsplit("/", 1)[-1]]
        return node["items"] if part == "[]" else node["properties"][part]

    for path in ALIBABA_ONLY_KEYS + NOT_ENFORCED_YET_KEYS:
        node = schema
        for part in path.replace("[]", ".[]").split("."):
            node = resolve(node, part)


# --- secrets ------------------------------------------------------------------------------------


def secret_config() -> dict:
    return minimal(
        token="tok-123",
        dockerAuth=base64.b64encode(b"user:pw").decode(),
        storage=[
            {"mount_path": "/a", "empty_dir": {}},
            {"mount_path": "/code", "git": {"repo": "https://x/y.git", "username": "u", "password": "gitpw"}},
        ],
    )


def test_mask_secrets_masks_every_secret_and_nothing_else():
    config = secret_config()

    masked = mask_secrets(config)

    assert masked["token"] == masked["dockerAuth"] == masked["storage"][1]["git"]["password"] == SECRET_MASK
    assert masked["storage"][1]["git"]["username"] == "u"
    assert config == secret_config()  # a copy: the input keeps its values


def test_mask_secrets_masks_berth_keys_named_like_secrets_at_any_depth():
    config = {
        "berth": {
            "s3": {"access_key": "a", "access_key_id": "id", "secret_key": "s"},
            "db_password": "p",
            "api_secret": "x",
            "registry_credential": "name",
        }
    }

    masked = mask_secrets(config)

    assert masked == {
        "berth": {
            "s3": {"access_key": SECRET_MASK, "access_key_id": "id", "secret_key": SECRET_MASK},
            "db_password": SECRET_MASK,
            "api_secret": SECRET_MASK,
            "registry_credential": "name",
        }
    }


def test_split_secrets_keys_clear_values_by_json_path():
    masked, secrets = split_secrets(secret_config())

    assert masked == mask_secrets(secret_config())
    assert secrets == {
        "token": "tok-123",
        "dockerAuth": base64.b64encode(b"user:pw").decode(),
        "storage[1].git.password": "gitpw",
    }


def test_join_secrets_undoes_split_secrets():
    masked, secrets = split_secrets(secret_config())

    assert join_secrets(masked, secrets) == secret_config()
    assert masked["token"] == SECRET_MASK  # join copies


def test_join_secrets_keeps_a_secret_the_user_changed():
    masked, secrets = split_secrets(secret_config())
    masked["token"] = "new-token"

    assert join_secrets(masked, secrets)["token"] == "new-token"


def test_a_mask_with_no_stored_value_stays_for_validation_to_reject():
    masked, secrets = split_secrets(secret_config())
    del secrets["storage[1].git.password"]

    joined = join_secrets(masked, secrets)

    assert joined["storage"][1]["git"]["password"] == SECRET_MASK
    assert the_error(joined, "storage[1].git.password") == "this is a masked value; enter the real value"


@pytest.mark.parametrize("config", [None, [], "x", {"storage": "x"}, {"storage": [1, {"git": 2}]}, {"berth": [[{}]]}])
def test_the_secret_helpers_accept_any_shape(config):
    assert join_secrets(config, {"token": "x"}) == config
    assert mask_secrets(config) == config
    assert split_secrets(config) == (config, {})


def test_a_masked_config_validates_after_joining_the_stored_secrets():
    canonical = validate_config(secret_config()).config
    masked, secrets = split_secrets(canonical)

    assert validate_config(join_secrets(masked, secrets)).config == canonical


# --- JSON schema --------------------------------------------------------------------------------


def test_the_json_schema_is_a_valid_draft_2020_12_schema():
    schema = service_config_json_schema()

    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_json_schema_forbids_unknown_keys_in_every_typed_object():
    schema = service_config_json_schema()

    for name, definition in [("root", schema), *schema["$defs"].items()]:
        if "properties" in definition:
            assert definition["additionalProperties"] is False, name


def test_every_property_in_the_json_schema_has_a_description():
    schema = service_config_json_schema()

    for name, definition in [("root", schema), *schema["$defs"].items()]:
        for key, prop in definition.get("properties", {}).items():
            assert prop.get("description"), f"{name}.{key}"
            assert "default" not in prop and "title" not in prop


def test_the_json_schema_marks_keys_from_the_tables():
    schema = service_config_json_schema()

    assert "Alibaba Cloud only" in schema["properties"]["cloud"]["description"]
    assert "does not enforce it yet" not in schema["properties"]["autoscaler"]["description"]
    assert "does not enforce it yet" in json.dumps(schema)


def test_the_json_schema_rejects_what_validation_rejects():
    validator = jsonschema.Draft202012Validator(service_config_json_schema())

    for config in [minimal(contaners=[]), with_container(port=8080), with_metadata(instance=-1), minimal(name="X")]:
        assert not validator.is_valid(config)


def test_each_caller_gets_its_own_copy_of_the_json_schema():
    service_config_json_schema()["properties"].clear()

    assert service_config_json_schema()["properties"]


# --- properties over generated input ------------------------------------------------------------

json_leaves = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12)
KNOWN_KEYS = [
    "name",
    "containers",
    "metadata",
    "storage",
    "instance",
    "image",
    "port",
    "command",
    "script",
    "env",
    "health_check",
    "readiness_check",
    "mount_path",
    "oss",
    "git",
    "password",
    "dockerAuth",
    "token",
    "rpc.keepalive",
    "autoscaler",
    "scaleStrategies",
    "berth",
    "labels",
    "http_get",
    "period_seconds",
]
json_values = st.recursive(
    json_leaves,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(KNOWN_KEYS) | st.text(max_size=6), children, max_size=5),
    max_leaves=40,
)


def assert_well_formed(result: spec.SpecResult) -> None:
    assert isinstance(result, spec.SpecResult)
    for issue in result.errors + result.warnings:
        assert set(issue) == {"path", "message"}
        assert isinstance(issue["path"], str) and isinstance(issue["message"], str) and issue["message"]
        assert "internal error" not in issue["message"]
    assert (result.config is None) == bool(result.errors)
    if result.config is not None:
        json.loads(canonical_json(result.config))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_it_never_raises_on_arbitrary_json(value):
    assert_well_formed(validate_config(value))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "name": json_values,
            "containers": st.lists(st.dictionaries(st.sampled_from(KNOWN_KEYS), json_values)),
            "metadata": st.dictionaries(st.sampled_from(KNOWN_KEYS), json_values),
            "storage": json_values,
            "dockerAuth": json_values,
            "token": json_values,
            "autoscaler": json_values,
            "berth": json_values,
        },
    )
)
def test_it_never_raises_on_config_shaped_junk(value):
    assert_well_formed(validate_config(value))


def locations(value: object, loc: tuple = ()) -> list[tuple]:
    found = [loc]
    if isinstance(value, dict):
        for key, child in value.items():
            found += locations(child, (*loc, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += locations(child, (*loc, index))
    return found


@st.composite
def mutated_configs(draw):
    config = json.loads(golden(draw(st.sampled_from(CASES)), "in"))
    for _ in range(draw(st.integers(1, 3))):
        loc = draw(st.sampled_from(locations(config)))
        if not loc:
            continue
        parent = config
        for part in loc[:-1]:
            parent = parent[part]
        action = draw(st.sampled_from(["delete", "replace", "add"]))
        if action == "delete":
            del parent[loc[-1]]
        elif action == "replace":
            parent[loc[-1]] = draw(json_values)
        elif isinstance(parent, dict):
            parent[draw(st.sampled_from(KNOWN_KEYS) | st.text(max_size=6))] = draw(json_values)
        else:
            parent.append(draw(json_values))
    return config


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_configs())
def test_it_never_raises_on_mutations_of_valid_configs(config):
    before = copy.deepcopy(config)

    assert_well_formed(validate_config(config))
    assert config == before


# Text a JSON column can hold (no NUL, no lone surrogates), for configs that must be valid.
storable_chars = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")


def storable_text(**kwargs):
    return st.text(alphabet=storable_chars, **kwargs)


names = st.from_regex(r"[a-z][a-z0-9_]{2,30}", fullmatch=True)
ports = st.integers(1, 65535).filter(lambda port: port not in (8080, 9090))
images = st.sampled_from(
    ["nginx", "nginx:1.27", "registry.example.com:5000/team/app:1.0", "ghcr.io/a/b@sha256:" + "f" * 64]
)
env_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,8}", fullmatch=True)
small = st.integers(1, 10_000)


@st.composite
def probes(draw):
    kind = draw(st.sampled_from(["tcp_socket", "http_get", "exec"]))
    method = {
        "tcp_socket": st.fixed_dictionaries({}, optional={"port": ports}),
        "http_get": st.fixed_dictionaries({"path": st.sampled_from(["/", "/health"])}, optional={"port": ports}),
        "exec": st.fixed_dictionaries({"command": st.lists(storable_text(max_size=5), min_size=1, max_size=3)}),
    }[kind]
    timings = {key: small for key in ["period_seconds", "timeout_seconds", "success_threshold", "failure_threshold"]}
    return {kind: draw(method), **draw(st.fixed_dictionaries({}, optional=timings))}


@st.composite
def containers(draw, with_port: bool):
    container = {"image": draw(images)}
    container[draw(st.sampled_from(["command", "script"]))] = draw(storable_text(min_size=1, max_size=20))
    if with_port:
        container["port"] = draw(ports)
    variables = draw(st.lists(env_names, unique=True, max_size=3))
    if variables:
        container["env"] = [{"name": name, "value": draw(storable_text(max_size=8))} for name in variables]
    probe_keys = draw(st.lists(st.sampled_from(["health_check", "readiness_check", "liveness_check"]), unique=True))
    if not ("health_check" in probe_keys and "readiness_check" in probe_keys):
        for key in probe_keys:
            container[key] = draw(probes())
    return container


@st.composite
def valid_configs(draw):
    """Valid configs, in canonical and in the other accepted forms."""
    count = draw(st.integers(1, 3))
    config: dict = {"containers": [draw(containers(with_port=index == 0)) for index in range(count)]}
    metadata: dict = {"instance": draw(st.integers(0, 100))}
    sizes = {"cpu": small, "memory": small, "enable_grpc": st.booleans()}
    metadata.update(draw(st.fixed_dictionaries({}, optional=sizes)))
    if draw(st.booleans()):
        keepalive = draw(small)
        if draw(st.booleans()):
            metadata["rpc.keepalive"] = keepalive
        else:
            metadata["rpc"] = {"keepalive": keepalive}
    if draw(st.booleans()):
        metadata["eas.termination_grace_period"] = draw(st.integers(0, 600))
    name = draw(names)
    if draw(st.booleans()):
        metadata["name"] = name
    else:
        config["name"] = name
    config["metadata"] = metadata
    mounts = draw(st.lists(st.sampled_from(["/models", "/data/", "/dev/shm", "/code"]), unique=True, max_size=3))
    if mounts:
        config["storage"] = [{"mount_path": path, "empty_dir": {}} for path in mounts]
    if draw(st.booleans()):
        config["labels"] = draw(st.dictionaries(storable_text(max_size=5), storable_text(max_size=5), max_size=3))
    if draw(st.booleans()):
        config["token"] = draw(st.from_regex(r"[A-Za-z0-9_-]{8,20}", fullmatch=True))
    if draw(st.booleans()):
        strategies = draw(st.dictionaries(st.sampled_from(["qps", "cpu"]), small, min_size=1))
        form = {"strategies": strategies}
        if draw(st.booleans()):
            form = {"scaleStrategies": [{"metricName": key, "threshold": value} for key, value in strategies.items()]}
        config["autoscaler"] = {"min": 1, "max": draw(st.integers(1, 3000)), **form}
    return config


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_configs())
def test_canonicalising_is_a_fixed_point_on_generated_valid_configs(config):
    first = validate_config(config)
    assert first.errors == []

    second = validate_config(first.config)

    assert second.errors == []
    assert canonical_json(second.config) == canonical_json(first.config)


@settings(max_examples=100, deadline=None)
@given(valid_configs())
def test_split_and_join_round_trip_on_generated_valid_configs(config):
    canonical = validate_config(config).config
    masked, secrets = split_secrets(canonical)

    assert SECRET_MASK not in json.dumps(secrets)
    assert join_secrets(masked, secrets) == canonical


def test_huge_and_odd_numbers_never_raise():
    for value in [math.pi, -0.0, 1e308, -(2**63), 2**63 - 1, 2**63, 10**4000]:
        assert_well_formed(validate_config(with_metadata(instance=value)))
