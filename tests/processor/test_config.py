"""Settings resolution (pure logic): precedence, the EAS service config's key forms, loud failures."""

from __future__ import annotations

import json
import sys

import pytest

from tests.processor.conftest import SDK

sys.path.insert(0, str(SDK))

from allspark import BaseProcessor, Properties, config  # noqa: E402
from allspark.engine import normalize  # noqa: E402


def resolve(constructor=None, environ=None, properties=None):
    return config.resolve(constructor or {}, environ or {}, properties or Properties())


def test_defaults_are_the_eas_processor_mode_values():
    settings = config.Settings(resolve())

    assert (settings.worker_threads, settings.max_queue_size, settings.keepalive_ms) == (5, 64, 5000)
    assert (settings.host, settings.port, settings.grace_seconds) == ("0.0.0.0", 8080, 30)
    assert settings.model_path == "/eas/workspace/model"


def test_each_source_overrides_the_one_before_it_key_by_key():
    properties = Properties()
    properties.put(b"rpc.keepalive", b"10000")
    properties.put("rpc.worker_threads", "7")
    properties.put("rpc.max_queue_size", "9")
    service = {"metadata": {"rpc": {"max_queue_size": 11, "worker_threads": 12}}}
    environ = {"ALLSPARK_SERVICE_CONFIG": json.dumps(service), "ALLSPARK_RPC_WORKER_THREADS": "13"}

    code_only = config.Settings(resolve({"worker_threads": 8, "endpoint": "127.0.0.1:9000"}, {}, properties))
    everything = config.Settings(resolve({"worker_threads": 8, "endpoint": "127.0.0.1:9000"}, environ, properties))

    assert (code_only.keepalive_ms, code_only.worker_threads, code_only.max_queue_size) == (10000, 8, 9)
    assert (everything.keepalive_ms, everything.worker_threads, everything.max_queue_size) == (10000, 13, 11)
    assert (everything.host, everything.port) == ("127.0.0.1", 9000)


def test_the_service_config_accepts_nested_and_dotted_rpc_keys_the_grace_period_the_port_and_the_model():
    service = {
        "containers": [{"image": "x", "port": 8000}],
        "model_path": "/models/resnet",
        "model_config": {"threshold": 0.5},
        "metadata": {"rpc": {"keepalive": 60000}, "rpc.max_queue_size": 3, "eas.termination_grace_period": 7},
    }
    settings = config.Settings(resolve(environ={"ALLSPARK_SERVICE_CONFIG": json.dumps(service)}))

    assert (settings.keepalive_ms, settings.max_queue_size, settings.grace_seconds) == (60000, 3, 7)
    assert (settings.host, settings.port) == ("0.0.0.0", 8000)
    assert settings.model_path == "/models/resnet" and json.loads(settings.model_config) == {"threshold": 0.5}


def test_the_service_config_can_be_a_file_and_a_remote_model_path_is_not_a_local_directory(tmp_path):
    path = tmp_path / "service.json"
    path.write_text(json.dumps({"model_path": "oss://bucket/model.tar.gz", "metadata": {"rpc.keepalive": 1}}))

    values = resolve(environ={"ALLSPARK_SERVICE_CONFIG": str(path)})

    assert values["rpc.keepalive"] == "1" and values["model_path"] == "/eas/workspace/model"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"ALLSPARK_RPC_WORKER_THREADS": "five"}, "rpc.worker_threads: expected an integer, got 'five'"),
        ({"ALLSPARK_RPC_WORKER_THREADS": "0"}, "rpc.worker_threads: must be at least 1"),
        ({"ALLSPARK_ENDPOINT": "localhost"}, "endpoint: expected host:port"),
        ({"ALLSPARK_SERVICE_CONFIG": "{not json"}, "ALLSPARK_SERVICE_CONFIG: not valid JSON"),
        ({"ALLSPARK_SERVICE_CONFIG": "/nonexistent/service.json"}, "cannot read it"),
    ],
)
def test_a_malformed_setting_fails_loudly_naming_it(environ, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        config.Settings(resolve(environ=environ))


def test_get_model_path_and_config_are_bytes_as_in_eas(monkeypatch):
    monkeypatch.setenv("ALLSPARK_MODEL_PATH", "/models/mine")
    monkeypatch.setenv("ALLSPARK_MODEL_CONFIG", '{"k": 1}')
    processor = BaseProcessor(worker_threads=2)

    assert processor.get_model_path() == b"/models/mine"
    assert processor.get_model_path().decode() == "/models/mine"
    assert processor.get_model_config() == b'{"k": 1}'


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ((b"raw", 200), (200, b"raw", b"application/octet-stream")),
        (("text", 404), (404, b"text", b"text/plain; charset=utf-8")),
        (("True", 0), (200, b"True", b"text/plain; charset=utf-8")),  # older allspark: 0 meant success
        (b"bare", (200, b"bare", b"application/octet-stream")),
        ((b"x", "200"), (500, b"process() returned an invalid status code '200'", b"text/plain; charset=utf-8")),
    ],
)
def test_process_results_become_status_body_and_content_type(result, expected):
    assert normalize(result) == expected
