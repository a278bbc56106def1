"""console/service_form.py: form fields <-> config, without a browser or a database.

`post_of` stands in for the browser: it turns a form into the fields a browser would
POST for it (unchecked boxes absent), so the round trips here go through the same
`from_post` the views use.
"""

import base64
import copy
import json
from pathlib import Path

import pytest
from django.http import QueryDict

from console.forms import service as sf
from deployments import spec
from tests.conftest import FLASK_CONFIG

OSS_NOT_READ_ONLY = {"path": "oss://b/", "readOnly": False}
GOLDEN = Path(__file__).resolve().parent.parent / "deployments" / "golden"

SCALAR_FIELDS = (
    "name", "image", "entry", "command", "script", "port", "registry_auth", "registry_username",
    "registry_password", "docker_auth", "registry_credential", "requirements", "requirements_path", "hc_key",
    "hc_type", "hc_loaded_type", "hc_path", "hc_port", "hc_command", "instance", "cpu", "memory", "extra",
)  # fmt: skip


def post_of(form: sf.ServiceForm) -> QueryDict:
    data = QueryDict(mutable=True)
    for name in SCALAR_FIELDS:
        data[name] = getattr(form, name)
    if form.enable_grpc:
        data["enable_grpc"] = "on"
    for name, value in form.hc_timings.items():
        data[f"hc_{name}"] = value
    data["env-TOTAL"] = str(len(form.env))
    for row in form.env:
        data[row.prefix + "name"], data[row.prefix + "value"] = row.name, row.value
    data["storage-TOTAL"] = str(len(form.storage))
    for row in form.storage:
        for key in ("type", "mount_path", "extra", "other_type", "loaded_type"):
            data[row.prefix + key] = getattr(row, key)
        for key, value in row.values.items():
            if value is True:
                data[row.prefix + key] = "on"
            elif value is not False:
                data[row.prefix + key] = value
    return data


def round_trip(config: dict) -> dict:
    """config -> form -> POST -> config, validated and canonical."""
    built, problems = sf.to_config(sf.from_post(post_of(sf.from_config(config))))
    assert problems == []
    result = spec.validate_config(built)
    assert result.errors == []
    return result.config


def canonical(config: dict) -> dict:
    result = spec.validate_config(config)
    assert result.errors == [], result.errors
    return result.config


def valid_goldens() -> list[Path]:
    return [p for p in sorted(GOLDEN.glob("*.out.json")) if spec.validate_config(json.loads(p.read_text())).ok]


# --- the fixed point -------------------------------------------------------------------------


def test_the_flask_config_survives_form_and_back_unchanged():
    config = canonical(FLASK_CONFIG)
    assert spec.canonical_json(round_trip(config)) == spec.canonical_json(config)


@pytest.mark.parametrize("path", valid_goldens(), ids=lambda p: p.name.removesuffix(".out.json"))
def test_every_golden_config_is_a_fixed_point_of_the_form(path):
    config = canonical(json.loads(path.read_text()))
    once = round_trip(config)
    assert spec.canonical_json(once) == spec.canonical_json(config)
    assert spec.canonical_json(round_trip(once)) == spec.canonical_json(once)


def test_keys_without_a_field_ride_in_extra_and_come_back():
    config = canonical(
        {
            **copy.deepcopy(FLASK_CONFIG),
            "labels": {"team": "ml", "tier": "gold"},
            "autoscaler": {"min": 1, "max": 4, "strategies": {"qps": 10}},
            "storage": [
                {"mount_path": "/models", "oss": {"path": "oss://b/m/", "readOnly": False}},
                {"mount_path": "/ds", "dataset": {"id": "d-1", "version": "v1"}},
            ],
        }
    )
    config["containers"][0]["health_check"]["http_get"]["scheme"] = "HTTP"
    form = sf.from_config(config)
    assert json.loads(form.extra)["labels"] == {"team": "ml", "tier": "gold"}
    assert form.storage[1].type == "dataset"  # a type the form cannot edit is still selectable by name
    assert spec.canonical_json(round_trip(config)) == spec.canonical_json(config)


def test_an_explicit_false_read_only_is_kept_while_the_box_is_unticked():
    config = canonical({**FLASK_CONFIG, "storage": [{"mount_path": "/m", "oss": OSS_NOT_READ_ONLY}]})
    assert round_trip(config)["storage"][0]["oss"] == {"path": "oss://b/", "readOnly": False}


# --- form -> config --------------------------------------------------------------------------


def test_username_and_password_become_docker_auth():
    form = sf.from_config(FLASK_CONFIG)
    form.registry_auth, form.registry_username, form.registry_password = "password", "bot", "s3cret:x"
    config, _ = sf.to_config(form)
    assert base64.b64decode(config["dockerAuth"]).decode() == "bot:s3cret:x"
    again = sf.from_config(config)
    assert (again.registry_auth, again.registry_username, again.registry_password) == ("password", "bot", "s3cret:x")


def test_a_saved_credential_becomes_berth_registry_credential():
    form = sf.from_config(FLASK_CONFIG)
    form.registry_auth, form.registry_credential = "credential", "team-registry"
    config, _ = sf.to_config(form)
    assert config["berth"] == {"registry_credential": "team-registry"}
    assert "dockerAuth" not in config


def test_a_masked_docker_auth_stays_masked():
    form = sf.from_config({**FLASK_CONFIG, "dockerAuth": spec.SECRET_MASK})
    assert (form.registry_auth, form.docker_auth) == ("dockerauth", spec.SECRET_MASK)
    assert sf.to_config(form)[0]["dockerAuth"] == spec.SECRET_MASK


def test_requirements_are_one_per_line_and_numbers_become_numbers():
    data = post_of(sf.from_config(FLASK_CONFIG))
    data["requirements"] = "flask==3.0.3\r\n\r\n  numpy==1.26.4 \r\n"
    data["cpu"] = "2"
    config, _ = sf.to_config(sf.from_post(data))
    assert config["containers"][0]["prepare"]["pythonRequirements"] == ["flask==3.0.3", "numpy==1.26.4"]
    assert config["metadata"]["cpu"] == 2


def test_text_in_a_number_field_goes_to_the_spec_as_typed():
    data = post_of(sf.from_config(FLASK_CONFIG))
    data["port"] = "eighty"
    config, _ = sf.to_config(sf.from_post(data))
    assert config["containers"][0]["port"] == "eighty"
    assert [e["path"] for e in spec.validate_config(config).errors] == ["containers[0].port"]


def test_switching_a_mount_type_drops_the_old_types_kept_keys():
    config = canonical({**FLASK_CONFIG, "storage": [{"mount_path": "/m", "oss": OSS_NOT_READ_ONLY}]})
    data = post_of(sf.from_config(config))
    data["storage-0-type"] = "empty_dir"
    built, _ = sf.to_config(sf.from_post(data))
    assert built["storage"] == [{"mount_path": "/m", "empty_dir": {}}]


def test_switching_the_health_check_off_drops_it():
    data = post_of(sf.from_config(FLASK_CONFIG))
    data["hc_type"] = "none"
    built, _ = sf.to_config(sf.from_post(data))
    assert "health_check" not in built["containers"][0]


def test_unreadable_extra_json_is_a_problem_of_that_field():
    form = sf.from_config(FLASK_CONFIG)
    form.extra = '{"labels": {'
    _, problems = sf.to_config(form)
    assert problems[0][0] == "extra"
    assert "line 1, column" in problems[0][1]


def test_rows_are_added_and_removed_by_op():
    form = sf.from_config(FLASK_CONFIG)
    sf.apply_op(form, "add-env")
    sf.apply_op(form, "add-storage")
    assert [row.prefix for row in form.env] == ["env-0-", "env-1-"]
    assert form.storage[0].type == "oss"
    sf.apply_op(form, "remove-env-0")
    assert [row.name for row in form.env] == [""]
    sf.apply_op(form, "remove-env-9")  # out of range: ignored
    assert len(form.env) == 1


# --- error paths -> fields -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "slot"),
    [
        ("name", "name"),
        ("metadata.name", "name"),
        ("containers[0].port", "port"),
        ("containers[0].image", "image"),
        ("containers[0]", "entry"),
        ("containers[0].env[0].name", "env-0-name"),
        ("containers[0].env[0].value", "env-0-value"),
        ("containers[0].prepare.pythonRequirements[0]", "requirements"),
        ("containers[0].health_check.http_get.path", "hc_path"),
        ("containers[0].health_check.period_seconds", "hc_period_seconds"),
        ("containers[0].readiness_check", "hc_type"),
        ("metadata.instance", "instance"),
        ("metadata", "instance"),
        ("dockerAuth", "registry_auth"),
        ("berth.registry_credential", "registry_credential"),
        ("storage[0].oss.path", "storage-0-oss_path"),
        ("storage[0].nfs.server", "storage-0-type"),  # not on screen while the row shows oss
        ("storage[0]", "storage-0-type"),
        ("storage[0].mount_path", "storage-0-mount_path"),
        ("containers[1].port", None),
        ("autoscaler.max", None),
        ("", None),
    ],
)
def test_spec_error_paths_land_next_to_their_field(path, slot):
    config = canonical({**FLASK_CONFIG, "storage": [{"mount_path": "/m", "oss": {"path": "oss://b/"}}]})
    assert sf.field_for_path(path, sf.from_config(config)) == slot


def test_errors_without_a_field_are_shown_above_the_form_with_their_path():
    form = sf.from_config(FLASK_CONFIG)
    errors = [{"path": "autoscaler.max", "message": "too big"}, {"path": "containers[0].port", "message": "no"}]
    sf.attach_errors(form, errors)
    assert form.general_errors == ["autoscaler.max: too big"]
    assert form.errors == {"port": ["no"]}
    assert dict(form.error_slots())["port"] == ["no"]


def test_a_host_path_mount_has_its_own_fields_and_round_trips():
    from console.forms import service as sf

    config = {
        "name": "hostpath_demo",
        "containers": [{"image": "repo/app:1", "command": "python app.py", "port": 8000}],
        "storage": [
            {"mount_path": "/data", "berth": {"host_path": "/srv/models", "readOnly": True}},
            {"mount_path": "/models", "oss": {"path": "oss://bucket/m/"}, "berth": {"object_store": "minio"}},
        ],
        "metadata": {"instance": 1},
    }
    form = sf.from_config(config)
    host, oss = form.storage
    assert host.type == "host_path"
    assert host.values["host_path_path"] == "/srv/models" and host.values["host_path_read_only"] is True
    assert oss.type == "oss"  # berth.object_store alone does not make a host path
    rebuilt, problems = sf.to_config(form)
    assert problems == []
    assert rebuilt["storage"] == config["storage"]


def test_a_host_path_error_sits_next_to_the_host_path_field():
    from console.forms import service as sf

    form = sf.from_config(
        {
            "name": "hostpath_demo",
            "containers": [{"image": "a:1", "command": "x", "port": 8000}],
            "storage": [{"mount_path": "/data", "berth": {"host_path": "/etc"}}],
            "metadata": {"instance": 1},
        }
    )
    assert sf.field_for_path("storage[0].berth.host_path", form) == "storage-0-host_path_path"
