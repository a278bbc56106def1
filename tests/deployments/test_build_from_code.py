"""Deploy from code (berth.build) against a real dockerd, git server (basic auth) and engine stack."""

import json
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

import pytest

from deployments.actions import services
from deployments.choices import ServiceStatus
from deployments.models import Event, Instance, Service
from tests.conftest import SERVICE_PREFIX
from tests.deployments.test_engine import FAST_CHECK, wait_status
from tests.stack import wait_for
from tests.deployments.test_storage_mounts import create
from tests.fixtures_storage import GIT_PASSWORD, GIT_USER

pytestmark = [pytest.mark.docker, pytest.mark.redis, pytest.mark.usefixtures("storage_cleanup")]

APP = """import allspark
import tinylib


class Greeter(allspark.BaseProcessor):
    def process(self, data):
        return tinylib.greet(data.decode()), 200


if __name__ == "__main__":
    Greeter(worker_threads=2).run()
"""


def tiny_wheel(directory: Path, version: str) -> Path:
    """A pure-Python wheel `tinylib` whose greet() names its version, built offline with flit_core."""
    source = directory / f"tinylib-{version}"
    (source / "tinylib").mkdir(parents=True)
    (source / "tinylib" / "__init__.py").write_text(
        f'"""Tiny."""\n__version__ = "{version}"\n\ndef greet(name):\n    return f"hello {{name}} from tinylib {version}"\n'
    )
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["flit_core>=3.4,<5"]\nbuild-backend = "flit_core.buildapi"\n'
        f'[project]\nname = "tinylib"\nversion = "{version}"\ndescription = "tiny"\n'
    )
    out = directory / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
    )
    return next(out.glob(f"tinylib-{version}-*.whl"))


def push_files(git_server, name: str, files: dict[str, bytes | str]) -> str:
    """Commit files (binary ones too) to the server's bare repository; returns the commit id."""
    bare = git_server.root / f"{name}.git"
    if not bare.exists():
        subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(bare)], check=True)
    with tempfile.TemporaryDirectory() as work:
        git = ["git", "-C", work, "-c", "user.name=Test", "-c", "user.email=test@example.com"]
        subprocess.run(["git", "clone", "-q", str(bare), work], check=True, capture_output=True)
        subprocess.run([*git, "checkout", "-q", "-B", "main"], check=True)
        for path, content in files.items():
            target = Path(work) / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content.encode() if isinstance(content, str) else content)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-q", "-m", "code"], check=True)
        subprocess.run([*git, "push", "-q", "origin", "HEAD:main"], check=True, capture_output=True)
        return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


def from_code(name: str, url: str, base: str, requirements: list[str]) -> dict:
    return {
        "name": SERVICE_PREFIX + name,
        "containers": [
            {
                "port": 8000,
                "env": [{"name": "ALLSPARK_ENDPOINT", "value": "0.0.0.0:8000"}],
                "health_check": {"http_get": {"path": "/health", "port": 8000}, **FAST_CHECK},
            }
        ],
        "metadata": {"instance": 1, "memory": 128, "eas": {"termination_grace_period": 1}},
        "berth": {
            "build": {
                "base": base,
                "code": {"git": {"repo": url, "branch": "main", "username": GIT_USER, "password": GIT_PASSWORD}},
                "requirements": requirements,
                "find_links": ["wheels"],
                "processor": "app.py",
            }
        },
    }


def ask(port: int, body: bytes = b"berth") -> str:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/", data=body)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()


def events_of(service: Service) -> list[tuple[str, str]]:
    return list(Event.objects.filter(service=service).order_by("pk").values_list("reason", "message"))


def test_code_from_git_is_built_with_a_wheel_requirement_cached_and_a_broken_requirement_fails_the_build_only(
    local_host, alice, python_image, git_server, tmp_path
):
    wheel = tiny_wheel(tmp_path, "1.0")
    commit = push_files(git_server, "greeter", {"app.py": APP, f"wheels/{wheel.name}": wheel.read_bytes()})
    url = f"{git_server.base}/greeter.git"
    config = from_code("fromcode", url, python_image, ["tinylib==1.0"])
    service = create(alice, config)
    service = wait_status(service.name, ServiceStatus.RUNNING, timeout=300)
    instance = Instance.objects.get(service=service)
    assert ask(instance.host_port) == "hello berth from tinylib 1.0"
    reasons = [reason for reason, _ in events_of(service)]
    assert "Building" in reasons and "BuildProgress" in reasons and "Built" in reasons
    built = next(message for reason, message in events_of(service) if reason == "Building")
    assert commit[:12] in built and GIT_PASSWORD not in json.dumps(events_of(service))

    # The same content again (a new version with only the instance count changed) reuses the image.
    again = json.loads(json.dumps(config))
    again["metadata"]["instance"] = 2
    services.service_update(actor=alice, service=Service.objects.get(pk=service.pk), config=again)
    wait_for(lambda: Instance.objects.filter(service=service, ready=True).count() == 2, timeout=120, what="2 ready")
    assert "BuildCached" in [reason for reason, _ in events_of(service)]

    # A requirement no wheel satisfies fails the build; the message names it; the old version keeps serving.
    broken = json.loads(json.dumps(again))
    broken["berth"]["build"]["requirements"] = ["tinylib==1.0", "nosuchlib-berth==9.9"]
    services.service_update(actor=alice, service=Service.objects.get(pk=service.pk), config=broken)

    def build_failed():
        return any(reason == "BuildFailed" for reason, _ in events_of(service))

    wait_for(build_failed, timeout=300, what="the build to fail")
    failure = next(message for reason, message in events_of(service) if reason == "BuildFailed")
    assert "nosuchlib-berth==9.9" in failure, failure
    wait_for(
        lambda: any(reason == "RolloutFailed" for reason, _ in events_of(service)), timeout=60, what="rollout failed"
    )
    rollout = next(message for reason, message in events_of(service) if reason == "RolloutFailed")
    assert "nosuchlib-berth" in rollout, rollout
    service = wait_status(service.name, ServiceStatus.RUNNING, timeout=60)
    for instance in Instance.objects.filter(service=service):
        assert ask(instance.host_port) == "hello berth from tinylib 1.0"
    shutil.rmtree(tmp_path / "dist", ignore_errors=True)


def test_berth_create_of_a_config_with_code_prints_the_build_progress_and_the_service_answers(
    berth, local_host, python_image, git_server, tmp_path
):
    wheel = tiny_wheel(tmp_path, "2.0")
    push_files(git_server, "greeter-cli", {"app.py": APP, f"wheels/{wheel.name}": wheel.read_bytes()})
    config = from_code("fromcodecli", f"{git_server.base}/greeter-cli.git", python_image, ["tinylib==2.0"])
    path = tmp_path / "service.json"
    path.write_text(json.dumps(config))
    result = berth("create", str(path), timeout=500)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert any(line.startswith("[Build] building berth-build/code:") for line in lines), result.stdout
    assert any(line.startswith("[Build] Step ") for line in lines), result.stdout
    assert "[OK] Service is running" in lines[-1] and GIT_PASSWORD not in result.stdout + result.stderr
    instance = Instance.objects.get(service__name=config["name"])
    assert ask(instance.host_port) == "hello berth from tinylib 2.0"
