"""Deploying real images: the EAS guide's Flask example, pip prepare, and a private registry with htpasswd."""

import base64
import urllib.request

import docker
import pytest

from deployments.actions import credentials, services, workspaces
from deployments.choices import ServiceStatus
from deployments.models import Instance
from tests.conftest import REGISTRY_PASSWORD, REGISTRY_USER, SERVICE_PREFIX
from tests.deployments.test_engine import FAST_CHECK, wait_status, web_config
from tests.stack import build_image

pytestmark = [pytest.mark.docker, pytest.mark.redis]

# The custom-image guide's app: a Flask route /hello/model that returns "Hello World" on port 8000.
FLASK_APP = b"""from flask import Flask

app = Flask(__name__)


@app.route("/hello/model")
def hello_world():
    return "Hello World"


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=8000)
"""


@pytest.fixture(scope="session")
def flask_image(python_image) -> str:
    return build_image(
        "flask-app", {"app.py": FLASK_APP}, f"FROM {python_image}\nCOPY app.py /app/app.py\nWORKDIR /app\n"
    )


def flask_config(name: str, image: str, **container) -> dict:
    return {
        "name": SERVICE_PREFIX + name,
        "containers": [
            {
                "image": image,
                "command": "python3 app.py",
                "port": 8000,
                "health_check": {"http_get": {"path": "/hello/model", "port": 8000}, **FAST_CHECK},
                **container,
            }
        ],
        "metadata": {"instance": 2, "memory": 256, "eas": {"termination_grace_period": 1}},
    }


def get(instance, path: str) -> str:
    with urllib.request.urlopen(f"http://{instance.address}:{instance.port}{path}", timeout=3) as response:
        return response.read().decode()


def test_the_eas_guide_flask_example_runs_with_two_instances(local_host, alice, flask_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    service, _ = services.service_create(actor=alice, workspace=workspace, config=flask_config("flask", flask_image))
    service = wait_status(service.name, ServiceStatus.RUNNING, timeout=90)
    instances = list(Instance.objects.filter(service=service))
    assert len(instances) == 2
    assert {get(i, "/hello/model") for i in instances} == {"Hello World"}


def test_prepare_python_requirements_installs_a_package_from_pypi(local_host, alice, flask_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = flask_config(
        "pip",
        flask_image,
        command=None,
        script='python3 -c \'import tomli_w; print("tomli_w", tomli_w.dumps({"a": 1}).strip())\' && exec python3 app.py',
        prepare={"pythonRequirements": ["tomli-w==1.0.0"]},
    )
    del config["containers"][0]["command"]
    config["metadata"]["instance"] = 1
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    service = wait_status(service.name, ServiceStatus.RUNNING, timeout=180)
    instance = Instance.objects.get(service=service)
    logs = docker.from_env().containers.get(instance.container_id).logs().decode()
    assert "tomli_w a = 1" in logs
    assert get(instance, "/hello/model") == "Hello World"


def test_prepare_without_python_in_the_image_fails_and_says_so(local_host, alice, busybox_image):
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config("nopython", busybox_image, instance=1)
    config["containers"][0]["prepare"] = {"pythonRequirements": ["flask"]}
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    service = wait_status(service.name, ServiceStatus.FAILED, timeout=90)
    assert "needs python and pip in the image" in service.message


@pytest.fixture(scope="session")
def pushed_image(private_registry, busybox_image) -> str:
    """The busybox image pushed to the private registry, and the local copy of that name removed."""
    client = docker.from_env()
    target = f"{private_registry}/team/busybox:1"
    client.images.get(busybox_image).tag(target)
    auth = {"username": REGISTRY_USER, "password": REGISTRY_PASSWORD}
    for line in client.images.push(target, auth_config=auth, stream=True, decode=True):
        assert "error" not in line, line
    client.images.remove(target)  # deploys must really pull it
    return target


def test_a_private_registry_image_deploys_with_the_right_docker_auth(local_host, alice, pushed_image):
    untag(pushed_image)
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config("private", pushed_image, instance=1)
    config["dockerAuth"] = base64.b64encode(f"{REGISTRY_USER}:{REGISTRY_PASSWORD}".encode()).decode()
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    wait_status(service.name, ServiceStatus.RUNNING, timeout=60)


def untag(image: str) -> None:
    """Drop the host's copy so that the deploy has to pull (tagged images present are used as they are)."""
    try:
        docker.from_env().images.remove(image, force=True)
    except docker.errors.ImageNotFound:
        pass


def test_a_wrong_docker_auth_fails_naming_the_registry(local_host, alice, pushed_image, private_registry):
    untag(pushed_image)
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config("badauth", pushed_image, instance=1)
    config["dockerAuth"] = base64.b64encode(f"{REGISTRY_USER}:wrong-password".encode()).decode()
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    service = wait_status(service.name, ServiceStatus.FAILED, timeout=60)
    assert f"registry {private_registry} refused the credentials" in service.message
    assert "wrong-password" not in service.message


def test_a_saved_workspace_credential_is_used_for_its_registry(local_host, alice, pushed_image, private_registry):
    untag(pushed_image)
    workspace = workspaces.workspace_current_ensure(user=alice)
    credentials.registry_credential_create(
        actor=alice,
        workspace=workspace,
        name="private",
        registry=private_registry,
        username=REGISTRY_USER,
        password=REGISTRY_PASSWORD,
    )
    service, _ = services.service_create(
        actor=alice, workspace=workspace, config=web_config("savedcred", pushed_image, instance=1)
    )
    wait_status(service.name, ServiceStatus.RUNNING, timeout=60)
