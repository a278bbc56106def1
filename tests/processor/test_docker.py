"""The EAS guide's allspark example, unchanged, in a container: installed from a wheel built from processor/,
run with the docker SDK, then deployed by Berth with two instances and called through the gateway, also
with the official eas-prediction client."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import docker
import pytest

from tests import stack
from tests.conftest import SERVICE_PREFIX
from tests.fixtures_gateway import FAST_CHECK, deploy, http
from tests.processor.conftest import SDK, request

pytestmark = [pytest.mark.docker]

GUIDE_APP = Path(__file__).parent / "apps" / "guide_app.py"


@pytest.fixture(scope="session")
def allspark_image(python_image, tmp_path_factory) -> str:
    """python_image + the SDK installed from its wheel (no index: nothing is fetched) + the guide's app."""
    build = tmp_path_factory.mktemp("allspark-wheel")
    # flit_core (requirements.txt) builds it without writing into processor/ and without fetching anything.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(build / "dist"),
            str(SDK),
        ],
        check=True,
    )
    [wheel] = (build / "dist").glob("allspark-*.whl")
    dockerfile = (
        f"FROM {python_image}\n"
        f"COPY {wheel.name} /tmp/{wheel.name}\n"
        f"RUN python3 -m pip install -q --no-index --break-system-packages /tmp/{wheel.name} && rm /tmp/{wheel.name}\n"
        "COPY app.py /app/app.py\n"
        "WORKDIR /app\n"
    )
    return stack.build_image("allspark-guide", {wheel.name: wheel, "app.py": GUIDE_APP}, dockerfile)


def test_the_guides_example_runs_unchanged_in_a_container_from_the_wheel(allspark_image):
    client = docker.from_env()
    container = client.containers.run(
        allspark_image,
        ["python3", "/app/app.py"],
        detach=True,
        ports={"8080/tcp": ("127.0.0.1", None)},  # the example's default endpoint, 0.0.0.0:8080
        labels={"berth.service": SERVICE_PREFIX + "allspark-guide"},
    )
    try:
        container.reload()
        port = int(container.ports["8080/tcp"][0]["HostPort"])

        def healthy():
            try:
                return request(port, method="GET", path="/health", timeout=2).status == 200
            except OSError:
                return False

        stack.wait_for(healthy, timeout=30, interval=0.1, what="the guide's processor to answer /health")
        above = request(port, b"10 20", path="/api/predict/service_name")
        below = request(port, b"2 105", path="/api/predict/service_name")
        broken = request(port, b"not-two-numbers")

        assert (above.status, above.body) == (200, b"True")
        assert (below.status, below.body) == (400, b"False")
        assert broken.status == 400 and b"not enough values to unpack" in broken.body
        stopped = time.monotonic()
        container.stop(timeout=10)  # SIGTERM: nothing in flight, so it exits at once
        assert time.monotonic() - stopped < 5
        assert container.wait(timeout=10)["StatusCode"] == 0
        logs = container.logs().decode()
        assert "MyProcessor listening on 0.0.0.0:8080 (worker_threads=10" in logs and "drained" in logs
    finally:
        container.remove(force=True)


@pytest.mark.redis
def test_berth_deploys_it_with_two_instances_behind_the_gateway_and_the_eas_client_calls_it(
    allspark_image, local_host, alice, gateway, eas_client
):
    config = {
        "name": SERVICE_PREFIX + "allspark_guide",
        "containers": [
            {
                "image": allspark_image,
                "command": "python3 /app/app.py",
                "port": 8000,
                # The example keeps its default endpoint (8080, reserved in EAS and Berth); the port comes from here.
                "env": [{"name": "ALLSPARK_ENDPOINT", "value": "0.0.0.0:8000"}],
                "health_check": {"http_get": {"path": "/health", "port": 8000}} | FAST_CHECK,
            }
        ],
        "metadata": {"instance": 2, "memory": 128, "eas": {"termination_grace_period": 1}},
    }
    service = deploy(alice, config, gateway)
    auth = {"Authorization": service.token}

    answers = [http(gateway.predict_url(service.name), method="POST", body=b"10 20", headers=auth) for _ in range(6)]
    below = http(gateway.predict_url(service.name), method="POST", body=b"2 105", headers=auth)
    official = eas_client.predict(endpoint=gateway.url, service=service.name, token=service.token, body="10 20")

    assert [(a.status, a.body) for a in answers] == [(200, b"True")] * 6
    assert (below.status, below.body) == (400, b"False")
    assert official == {"ok": True, "body": "True"}
    # Both instances served: each one's own metrics count requests answered 200.
    containers = docker.from_env().containers.list(filters={"label": f"berth.service={service.name}"})
    assert len(containers) == 2
    for container in containers:
        metrics = container.exec_run(
            [
                "python3",
                "-c",
                "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8000/metrics').read().decode())",
            ]
        ).output.decode()
        assert 'allspark_requests_total{code="200"}' in metrics, metrics
