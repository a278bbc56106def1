"""Per-service limits at the gateway (timeout, rate, concurrency), and TLS on the listeners."""

import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from deployments import spec
from tests import stack
from tests.fixtures_gateway import deploy, echo_config, http, start_gateway

pytestmark = [pytest.mark.docker, pytest.mark.redis]


def test_gateway_policy_and_keepalive_are_honoured_keys_not_warnings():
    config = echo_config("limits", "img", metadata={"rpc": {"keepalive": 1000}})
    config["networking"] = {"gateway_policy": {"rate_limit": {"enable": True, "limit": 5}}}
    result = spec.validate_config(config)
    assert result.ok
    assert not [w for w in result.warnings if "gateway_policy" in w["path"] or "keepalive" in w["path"]]


def test_keepalive_is_the_request_timeout_and_limits_answer_429(local_host, alice, python_image_tag, gateway):
    config = echo_config("limits", python_image_tag, instance=1, metadata={"rpc": {"keepalive": 1000}})
    config["networking"] = {
        "gateway_policy": {"rate_limit": {"enable": True, "limit": 20}, "concurrency_limit": {"enable": True, "limit": 2}}
    }
    service = deploy(alice, config, gateway)
    auth = {"Authorization": service.token}
    time.sleep(1.1)  # let the readiness polling above age out of the one-second rate window

    started = time.monotonic()
    slow = http(gateway.predict_url(service.name, "/sleep?ms=3000"), headers=auth)
    assert slow.status == 504 and "1000 ms" in slow.json()["message"] and "keepalive" in slow.json()["message"]
    assert time.monotonic() - started < 2.5
    time.sleep(1.1)

    # Three at once with a concurrency limit of 2: one is turned away.
    with ThreadPoolExecutor(3) as pool:
        statuses = sorted(pool.map(lambda _: http(gateway.predict_url(service.name, "/sleep?ms=600"), headers=auth).status, range(3)))
    assert statuses == [200, 200, 429]
    time.sleep(1.1)

    # 20 per second pass, the rest of a burst of 30 get 429 with a JSON body.
    burst = [http(gateway.predict_url(service.name, "/"), headers=auth) for _ in range(30)]
    assert sum(r.status == 200 for r in burst) == 20
    rejected = [r for r in burst if r.status == 429]
    assert len(rejected) == 10 and "rate_limit" in rejected[0].json()["message"]


def test_the_listeners_speak_tls_when_a_certificate_is_configured(engine_stack, transactional_db, tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    pem = tmp_path / "gateway.pem"
    pem.write_bytes(cert.read_bytes() + key.read_bytes())
    proc, tls_gateway = start_gateway(engine_stack["env"], name="gateway-tls", extra={"BERTH_GATEWAY_TLS_CERT": str(pem), "BERTH_GATEWAY_METRICS_INTERVAL": "0"})
    try:
        response = http(f"https://127.0.0.1:{tls_gateway.http_port}/api/predict/nothing_here/x")
        assert response.status == 401 and response.json()["code"] == 401  # unknown names answer like wrong tokens
        with pytest.raises(Exception):
            http(f"http://127.0.0.1:{tls_gateway.http_port}/api/predict/nothing_here/x", timeout=3)
    finally:
        stack.stop(proc)
        shutil.rmtree(tls_gateway.directory, ignore_errors=True)
