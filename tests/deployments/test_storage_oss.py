"""oss mounts against a real S3 server (moto, standard S3 only), a real dockerd and the engine stack."""

import json
import urllib.request
from pathlib import Path

import docker
import pytest

from deployments.actions import services, workspaces
from deployments.choices import InstanceStatus, ServiceStatus
from deployments.engine import hosts
from deployments.engine.versions import version_config
from deployments.models import Event, Instance
from deployments.models.storage import InstanceMount
from deployments.runtime import RuntimeFailure
from deployments.storage import mounts as storage_mounts
from tests.conftest import SERVICE_PREFIX
from tests.deployments.test_engine import FAST_CHECK, wait_status, web_config

pytestmark = [pytest.mark.docker, pytest.mark.redis, pytest.mark.usefixtures("storage_cleanup")]

# The EAS guide's console example: the code and the model live in the object store.
APP = """import tomli_w
from flask import Flask

app = Flask(__name__)


@app.route("/")
def predict():
    with open("/models/model.txt") as model:
        return "model says " + model.read().strip() + "; " + tomli_w.dumps({"ok": True}).strip()


app.run(host="0.0.0.0", port=8000)
"""


def docker_exec(container_id: str, script: str) -> tuple[int, str]:
    result = docker.from_env().containers.get(container_id).exec_run(["sh", "-c", script])
    return result.exit_code, result.output.decode()


def events_of(service, reason: str) -> list[str]:
    return list(Event.objects.filter(service=service, reason=reason).order_by("id").values_list("message", flat=True))


def test_the_eas_guide_example_runs_its_code_and_model_from_the_object_store(
    local_host, alice, python_image, s3_server, object_store
):
    s3_server.bucket(
        "guide",
        {
            "code/app.py": APP.encode(),
            "code/requirements.txt": b"tomli-w==1.0.0\n",
            "models/model.txt": b"forty-two\n",
        },
    )
    config = {
        "name": SERVICE_PREFIX + "oss_guide",
        "containers": [
            {
                "image": python_image,
                "script": "python3 /root/code/app.py",
                "port": 8000,
                "prepare": {"pythonRequirementsPath": "/root/code/requirements.txt"},
                "health_check": {"http_get": {"path": "/", "port": 8000}, **FAST_CHECK},
            }
        ],
        "storage": [
            {"mount_path": "/root/code", "oss": {"path": "oss://guide/code/", "readOnly": True}},
            {"mount_path": "/models/", "oss": {"path": "oss://guide/models/"}},
        ],
        "metadata": {"instance": 1, "memory": 256, "eas": {"termination_grace_period": 1}},
    }
    workspace = workspaces.workspace_current_ensure(user=alice)
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    service = wait_status(service.name, ServiceStatus.RUNNING, timeout=180)
    instance = Instance.objects.get(service=service)
    with urllib.request.urlopen(f"http://{instance.address}:{instance.port}/", timeout=5) as response:
        assert response.read().decode() == "model says forty-two; ok = true"
    # Progress and size are in the events; the mounts are recorded for the instance page and the API.
    ready = events_of(service, "MountReady")
    assert any("oss://guide/code/" in m and "2 objects" in m for m in ready)
    mounts = {m.mount_path: m for m in InstanceMount.objects.filter(instance=instance)}
    assert mounts["/root/code"].read_only and mounts["/root/code"].detail["objects"] == 2
    assert not mounts["/models/"].read_only
    # readOnly: true really refuses writes; the other oss mount is writable.
    code, output = docker_exec(instance.container_id, "echo x > /root/code/new.txt")
    assert code != 0 and "Read-only file system" in output
    assert docker_exec(instance.container_id, "echo x > /models/new.txt && cat /models/new.txt")[0] == 0


def _draft(alice, name: str, storage_entries: list, image: str = "busybox:1") -> tuple:
    """A saved (not deployed) service and an Instance row, for calling prepare_mounts directly."""
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config(name, image, instance=1)
    config["storage"] = storage_entries
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config, deploy=False)
    return service, service.current_version


def _instance(service, version, host, ordinal: int) -> Instance:
    from deployments.engine.containers import instance_name

    return Instance.objects.create(
        service=service,
        version=version,
        host=host,
        ordinal=ordinal,
        name=instance_name(service.name, version.number, ordinal),
        status=InstanceStatus.CREATING,
    )


def _prepare(service, version, host, instance, runtime=None) -> list[dict]:
    return storage_mounts.prepare_mounts(
        runtime=runtime or hosts.host_runtime(host),
        host=host,
        service=service,
        version=version,
        config=version_config(version),
        instance_name=instance.name,
    )


def _files(volume: str) -> dict[str, bytes]:
    root = Path(docker.from_env().volumes.get(volume).attrs["Mountpoint"])
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_a_second_instance_on_the_host_downloads_only_objects_whose_etag_changed(
    local_host, alice, s3_server, object_store
):
    s3_server.bucket("cache", {f"m/shard-{i}.bin": bytes([i]) * 1000 for i in range(5)} | {"m/sub/config.json": b"{}"})
    service, version = _draft(
        alice, "oss_cache", [{"mount_path": "/m", "oss": {"path": "oss://cache/m", "readOnly": True}}]
    )
    first = _instance(service, version, local_host, 0)
    mounts = _prepare(service, version, local_host, first)
    assert mounts == [
        {"type": "volume", "source": mounts[0]["source"], "target": "/m", "read_only": True, "no_copy": True}
    ]
    assert _files(mounts[0]["source"])["sub/config.json"] == b"{}"
    assert InstanceMount.objects.get(instance=first).detail["downloaded"] == 6

    s3_server.client().put_object(Bucket="cache", Key="m/shard-3.bin", Body=b"new weights")
    s3_server.client().delete_object(Bucket="cache", Key="m/shard-4.bin")
    second = _instance(service, version, local_host, 1)
    again = _prepare(service, version, local_host, second)
    detail = InstanceMount.objects.get(instance=second).detail
    assert (detail["downloaded"], detail["cached"], detail["objects"]) == (1, 4, 5)
    files = _files(again[0]["source"])
    assert files["shard-3.bin"] == b"new weights" and "shard-4.bin" not in files
    # The first instance keeps the objects it started with: an update never changes a running instance's files.
    assert _files(mounts[0]["source"])["shard-3.bin"] == bytes([3]) * 1000
    assert any(
        "downloaded 1 (11 B)" in m and "4 unchanged from this host's cache" in m
        for m in events_of(service, "MountReady")
    )
    # The cache is kept per host (not labelled with the service); instance volumes are labelled with theirs.
    cache = docker.from_env().volumes.list(filters={"label": ["berth.cache=oss", f"berth.installation=test-{_run()}"]})
    assert cache and all("berth.service" not in v.attrs["Labels"] for v in cache)
    labels = docker.from_env().volumes.get(again[0]["source"]).attrs["Labels"]
    assert labels["berth.service"] == service.name and labels["berth.instance"] == second.name


def _run() -> str:
    from tests import stack

    return stack.RUN_ID


def test_a_host_the_worker_cannot_see_gets_the_objects_streamed_through_the_docker_api(
    local_host, alice, s3_server, object_store
):
    s3_server.bucket("remote", {"p/a.txt": b"alpha", "p/dir/b.txt": b"beta" * 1000})
    service, version = _draft(alice, "oss_remote", [{"mount_path": "/p", "oss": {"path": "oss://remote/p/"}}])
    instance = _instance(service, version, local_host, 0)
    runtime = hosts.host_runtime(local_host)
    runtime.shares_filesystem = lambda: False  # as for a tcp:// host: no mountpoint access, no cache
    mounts = _prepare(service, version, local_host, instance, runtime)
    assert _files(mounts[0]["source"]) == {"a.txt": b"alpha", "dir/b.txt": b"beta" * 1000}
    assert InstanceMount.objects.get(instance=instance).detail["downloaded"] == 2


@pytest.mark.parametrize(
    "path, keys, expected",
    [
        ("oss://no-such-bucket/x/", None, "bucket 'no-such-bucket' does not exist"),
        ("oss://errors/x/", ("AKIAUNKNOWN0000000000", "whatever"), "does not know the access key of connection 'moto'"),
        ("oss://errors/x/", ("good-id", "wrong-secret"), "refused the secret of connection 'moto'"),
        ("oss://errors/x/", ("denied", "denied"), "access denied to oss://errors/x/"),
    ],
)
def test_object_store_failures_fail_the_service_with_a_clear_reason(
    local_host, alice, busybox_image, s3_server, object_store, path, keys, expected
):
    s3_server.bucket("errors", {"x/a": b"a"})
    if keys:
        key_id, secret = keys
        if key_id == "good-id":
            key_id = s3_server.access_key_id
        if key_id == "denied":
            key_id, secret = s3_server.denied_key_id, s3_server.denied_secret
        object_store.access_key_id, object_store.secret_access_key = key_id, secret
        object_store.save()
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config("oss_err_" + str(abs(hash((path, keys))) % 10000), busybox_image, instance=1)
    config["storage"] = [{"mount_path": "/m", "oss": {"path": path}}]
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    service = wait_status(service.name, ServiceStatus.FAILED, timeout=60)
    assert expected in service.message and service.message.startswith("storage[0] (oss://")
    assert Event.objects.filter(service=service, type="Warning", reason="MountFailed").exists()
    assert object_store.secret_access_key not in json.dumps(
        list(Event.objects.filter(service=service).values_list("message", flat=True))
    )


def test_an_oss_mount_without_any_connection_says_how_to_add_one(local_host, alice, busybox_image):
    service, version = _draft(
        alice, "oss_nostore", [{"mount_path": "/m", "oss": {"path": "oss://b/m/"}}], busybox_image
    )
    instance = _instance(service, version, local_host, 0)
    with pytest.raises(RuntimeFailure, match="has no default object-store connection: add one on the workspace page"):
        _prepare(service, version, local_host, instance)
