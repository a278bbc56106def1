"""git, image, empty_dir, NFS and host-path mounts against a real dockerd, git server, registry and engine stack."""

import base64
import json
import urllib.request
from pathlib import Path

import docker
import pytest

from deployments.actions import lifecycle, services, workspaces
from deployments.choices import InstanceStatus, ServiceStatus
from deployments.engine import hosts
from deployments.engine.versions import version_config
from deployments.errors import ConfigInvalid
from deployments.models import Event, Instance, Service
from deployments.runtime import RuntimeFailure
from deployments.storage import git
from deployments.storage import mounts as storage_mounts
from tests import stack
from tests.conftest import REGISTRY_PASSWORD, REGISTRY_USER
from tests.deployments.test_engine import wait_status, web_config
from tests.deployments.test_engine_images import untag
from tests.fixtures_storage import CA_FILE, GIT_PASSWORD, GIT_USER

pytestmark = [pytest.mark.docker, pytest.mark.redis, pytest.mark.usefixtures("storage_cleanup")]


def serving(name: str, image: str, directory: str, storage_entries: list, **extra) -> dict:
    """busybox httpd serving `directory` (a mount) on port 8000."""
    config = web_config(name, image, instance=1)
    config["containers"][0]["script"] = f"exec httpd -f -p 8000 -h {directory}"
    config["storage"] = storage_entries
    config.update(extra)
    return config


def get(instance, path: str = "/index.html") -> str:
    with urllib.request.urlopen(f"http://{instance.address}:{instance.port}{path}", timeout=3) as response:
        return response.read().decode().strip()


def docker_exec(container_id: str, script: str, user: str = "") -> tuple[int, str]:
    result = docker.from_env().containers.get(container_id).exec_run(["sh", "-c", script], user=user)
    return result.exit_code, result.output.decode()


def create(alice, config: dict) -> Service:
    workspace = workspaces.workspace_current_ensure(user=alice)
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config)
    return service


# --- git -------------------------------------------------------------------------------------------


def test_a_git_repository_is_cloned_read_only_and_a_restart_picks_up_new_commits(
    local_host, alice, busybox_image, git_server
):
    url = git_server.repo("site", {"index.html": "from git v1\n"})
    git = {"repo": url, "branch": "main", "username": GIT_USER, "password": GIT_PASSWORD}
    service = create(alice, serving("git", busybox_image, "/code", [{"mount_path": "/code", "git": git}]))
    service = wait_status(service.name, ServiceStatus.RUNNING, timeout=90)
    instance = Instance.objects.get(service=service)
    assert get(instance) == "from git v1"
    code, output = docker_exec(instance.container_id, "touch /code/new")
    assert code != 0 and "Read-only file system" in output
    # The password is nowhere: events, the container's metadata, the clone's own config, the worker's log.
    events = json.dumps(list(Event.objects.filter(service=service).values_list("message", flat=True)))
    inspected = json.dumps(docker.from_env().api.inspect_container(instance.container_id))
    _, git_config = docker_exec(instance.container_id, "cat /code/.git/config")
    worker_log = (stack.VAR / "test-worker.log").read_text(errors="replace")
    for text in (events, inspected, git_config, worker_log):
        assert GIT_PASSWORD not in text
    assert url in git_config and "cloned" in events

    git_server.commit("site", {"index.html": "from git v2\n"})
    lifecycle.service_stop(actor=alice, service=service)
    service = wait_status(service.name, ServiceStatus.STOPPED)
    lifecycle.service_start(actor=alice, service=service)
    service = wait_status(service.name, ServiceStatus.RUNNING, timeout=90)
    assert get(Instance.objects.get(service=service)) == "from git v2"


def test_wrong_git_credentials_fail_the_service_without_showing_them(local_host, alice, busybox_image, git_server):
    url = git_server.repo("private", {"index.html": "secret site\n"})
    git = {"repo": url, "username": GIT_USER, "password": "not-the-password-5d2e"}
    service = create(alice, serving("gitbad", busybox_image, "/code", [{"mount_path": "/code", "git": git}]))
    service = wait_status(service.name, ServiceStatus.FAILED, timeout=60)
    assert f"the git server refused the credentials for {url}" in service.message
    assert "not-the-password-5d2e" not in json.dumps(
        list(Event.objects.filter(service=service).values_list("message", flat=True))
    )


def test_a_commit_is_checked_out_and_a_missing_branch_or_no_credentials_are_named(git_server, tmp_path):
    url = git_server.repo("pinned", {"v.txt": "one\n"})
    first = git_server.commit("pinned", {"v.txt": "two\n"})
    git_server.commit("pinned", {"v.txt": "three\n"})
    options = {"username": GIT_USER, "password": GIT_PASSWORD, "ca_bundle": str(CA_FILE)}
    assert git.clone(repo=url, dest=tmp_path / "a", commit=first, **options) == first
    assert (tmp_path / "a" / "v.txt").read_text() == "two\n"
    # Credentials written into the URL are moved out of it.
    inline = url.replace("https://", f"https://{GIT_USER}:{GIT_PASSWORD}@")
    git.clone(repo=inline, dest=tmp_path / "b", ca_bundle=str(CA_FILE))
    assert GIT_PASSWORD not in (tmp_path / "b" / ".git" / "config").read_text()
    with pytest.raises(RuntimeFailure, match="branch 'nope' does not exist in"):
        git.clone(repo=url, dest=tmp_path / "c", branch="nope", **options)
    with pytest.raises(RuntimeFailure, match="asks for credentials: set git.username and git.password"):
        git.clone(repo=url, dest=tmp_path / "d", ca_bundle=str(CA_FILE))
    with pytest.raises(RuntimeFailure, match="TLS to 127.0.0.1"):
        git.clone(
            repo=url,
            dest=tmp_path / "e",
            username=GIT_USER,
            password=GIT_PASSWORD,
            ca_bundle="/etc/ssl/certs/ca-certificates.crt",
        )


# --- image -----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def data_image(private_registry, busybox_image) -> str:
    """An image holding /opt/data (with a symlink to it), pushed to the private registry; no local copy."""
    files = {"data/weights.txt": b"weights v1\n", "data/nested/vocab.txt": b"a b c\n"}
    built = stack.build_image(
        "storage-data", files, f"FROM {busybox_image}\nCOPY data /opt/data\nRUN ln -s /opt/data /opt/current\n"
    )
    client = docker.from_env()
    target = f"{private_registry}/team/data:1"
    client.images.get(built).tag(target)
    for line in client.images.push(
        target, auth_config={"username": REGISTRY_USER, "password": REGISTRY_PASSWORD}, stream=True, decode=True
    ):
        assert "error" not in line, line
    return target


def test_a_directory_of_another_image_is_copied_in_with_the_services_registry_credentials(
    local_host, alice, busybox_image, data_image
):
    untag(data_image)  # the mount has to pull it, with dockerAuth
    config = serving(
        "imagemount",
        busybox_image,
        "/www",
        [
            {"mount_path": "/opt/extra", "image": {"image": data_image, "path": "/opt/current/"}},
        ],
        dockerAuth=base64.b64encode(f"{REGISTRY_USER}:{REGISTRY_PASSWORD}".encode()).decode(),
    )
    config["containers"][0]["script"] = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8000 -h /www"
    service = wait_status(create(alice, config).name, ServiceStatus.RUNNING, timeout=90)
    instance = Instance.objects.get(service=service)
    assert docker_exec(instance.container_id, "cat /opt/extra/weights.txt /opt/extra/nested/vocab.txt") == (
        0,
        "weights v1\na b c\n",
    )
    assert any(
        "copied" in m
        for m in Event.objects.filter(service=service, reason="MountReady").values_list("message", flat=True)
    )


def test_a_path_missing_from_the_image_fails_with_its_name(local_host, alice, busybox_image):
    config = serving(
        "imagemissing",
        busybox_image,
        "/x",
        [{"mount_path": "/x", "image": {"image": busybox_image, "path": "/opt/nothing"}}],
    )
    service = wait_status(create(alice, config).name, ServiceStatus.FAILED, timeout=60)
    assert f"/opt/nothing does not exist in image {busybox_image}" in service.message


# --- empty_dir and shared memory -------------------------------------------------------------------


def test_empty_dirs_are_writable_scratch_and_memory_at_dev_shm_sets_the_shared_memory(local_host, alice, busybox_image):
    config = serving(
        "scratch",
        busybox_image,
        "/www",
        [
            {"mount_path": "/cache", "empty_dir": {}},
            {"mount_path": "/dev/shm", "empty_dir": {"medium": "memory", "size_limit": 1}},
            {"mount_path": "/fast", "empty_dir": {"medium": "memory"}},
        ],
    )
    config["containers"][0]["script"] = "mkdir -p /www && echo ok > /www/index.html && exec httpd -f -p 8000 -h /www"
    config["metadata"]["memory"] = 96
    service = wait_status(create(alice, config).name, ServiceStatus.RUNNING, timeout=60)
    instance = Instance.objects.get(service=service)
    # Docker's default /dev/shm is 64 MB; the config asked for 1 GB.
    code, output = docker_exec(instance.container_id, "df -k /dev/shm | tail -1")
    assert code == 0 and output.split()[1] == str(1024 * 1024)
    # A memory empty_dir without size_limit is bounded by the instance's memory, like a Kubernetes one.
    code, output = docker_exec(instance.container_id, "grep ' /fast ' /proc/mounts")
    assert output.startswith("tmpfs /fast tmpfs") and "size=98304k" in output
    # Any user may write the scratch disk (the image's user need not be root).
    assert docker_exec(instance.container_id, "echo hi > /cache/f && cat /cache/f", user="65534") == (0, "hi\n")


def _draft_instance(alice, host, name: str, storage_entries: list, image: str, **metadata):
    workspace = workspaces.workspace_current_ensure(user=alice)
    config = web_config(name, image, instance=1)
    config["storage"] = storage_entries
    config["metadata"].update(metadata)
    service, _ = services.service_create(actor=alice, workspace=workspace, config=config, deploy=False)
    version = service.current_version
    instance = Instance.objects.create(
        service=service,
        version=version,
        host=host,
        ordinal=0,
        name=f"berth-{service.name}-v1-0",
        status=InstanceStatus.CREATING,
    )
    return dict(
        runtime=hosts.host_runtime(host),
        host=host,
        service=service,
        version=version,
        config=version_config(version),
        instance_name=instance.name,
    )


def test_metadata_shm_size_gives_dev_shm_that_size(local_host, alice, busybox_image):
    mounts = storage_mounts.prepare_mounts(
        **_draft_instance(alice, local_host, "shmsize", [], busybox_image, shm_size=2)
    )
    assert [m["target"] for m in mounts] == ["/dev/shm"]
    options = docker.from_env().volumes.get(mounts[0]["source"]).attrs["Options"]
    assert options == {"type": "tmpfs", "device": "tmpfs", "o": "size=2g"}


# --- NFS -------------------------------------------------------------------------------------------


def test_an_nfs_volume_carries_the_servers_options_and_a_failed_mount_says_why(local_host, alice, busybox_image):
    nfs = {"server": "127.0.0.1", "path": "/exports/models", "readOnly": True}
    args = _draft_instance(alice, local_host, "nfs", [{"mount_path": "/data", "nfs": nfs}], busybox_image)
    # Nothing serves NFS here (and this kernel has no NFS client): the mount must fail, and say so.
    with pytest.raises(RuntimeFailure) as failure:
        storage_mounts.prepare_mounts(**args)
    assert "could not mount NFS 127.0.0.1:/exports/models" in str(failure.value)
    assert str(failure.value).startswith("storage[0] (nfs 127.0.0.1:/exports/models at /data)")
    volume = docker.from_env().volumes.list(filters={"label": f"berth.instance={args['instance_name']}"})[0]
    assert volume.attrs["Options"] == {"type": "nfs", "o": "addr=127.0.0.1,ro", "device": ":/exports/models"}


# --- host paths ------------------------------------------------------------------------------------


def test_an_allowed_host_path_is_mounted_and_read_only_refuses_writes(local_host, alice, busybox_image, host_dir):
    (host_dir / "index.html").write_text("from the host\n")
    entry = {"mount_path": "/srv", "berth": {"host_path": str(host_dir), "readOnly": True}}
    service = wait_status(
        create(alice, serving("hostpath", busybox_image, "/srv", [entry])).name, ServiceStatus.RUNNING
    )
    instance = Instance.objects.get(service=service)
    assert get(instance) == "from the host"
    code, output = docker_exec(instance.container_id, "touch /srv/x")
    assert code != 0 and "Read-only file system" in output


def test_a_host_path_outside_the_allow_list_is_rejected_when_the_config_is_saved(alice, busybox_image, settings):
    settings.BERTH_HOST_PATH_ROOTS = ["/srv/models"]
    config = serving("hostbad", busybox_image, "/x", [{"mount_path": "/x", "berth": {"host_path": "/etc"}}])
    with pytest.raises(ConfigInvalid) as invalid:
        create(alice, config)
    assert invalid.value.errors == [
        {
            "path": "storage[0].berth.host_path",
            "message": "/etc is not under a directory an administrator allowed (BERTH_HOST_PATH_ROOTS: /srv/models)",
        }
    ]


def test_a_host_path_outside_the_allow_list_is_refused_at_start_too(
    local_host, alice, busybox_image, settings, tmp_path
):
    settings.BERTH_HOST_PATH_ROOTS = [str(tmp_path / "allowed")]
    (tmp_path / "allowed").mkdir()
    (tmp_path / "allowed" / "escape").symlink_to("/etc")
    entry = {"mount_path": "/x", "berth": {"host_path": str(tmp_path / "allowed" / "escape")}}
    with pytest.raises(
        RuntimeFailure, match="resolves to /etc: /etc is not under a directory an administrator allowed"
    ):
        storage_mounts.prepare_mounts(**_draft_instance(alice, local_host, "hostlink", [entry], busybox_image))


# --- cleanup ---------------------------------------------------------------------------------------


def test_deleting_a_service_removes_its_volumes_but_keeps_the_hosts_object_cache(
    local_host, alice, busybox_image, s3_server, object_store
):
    s3_server.bucket("keep", {"site/index.html": b"from s3\n"})
    service = create(
        alice,
        serving(
            "cleanup",
            busybox_image,
            "/site",
            [
                {"mount_path": "/site", "oss": {"path": "oss://keep/site/", "readOnly": True}},
                {"mount_path": "/tmp/scratch", "empty_dir": {}},
            ],
        ),
    )
    service = wait_status(service.name, ServiceStatus.RUNNING, timeout=60)
    assert get(Instance.objects.get(service=service)) == "from s3"
    client = docker.from_env()
    assert len(client.volumes.list(filters={"label": f"berth.service={service.name}"})) == 2
    services.service_delete(actor=alice, service=service)
    stack.wait_for(lambda: not Service.objects.filter(name=service.name).exists(), timeout=30, what="delete")
    assert client.volumes.list(filters={"label": f"berth.service={service.name}"}) == []
    caches = client.volumes.list(filters={"label": ["berth.cache=oss", f"berth.installation=test-{stack.RUN_ID}"]})
    assert any(v.attrs["Labels"].get("berth.source", "").endswith("/keep/site/") for v in caches)


def test_a_host_the_worker_cannot_see_gets_clones_and_scratch_through_the_docker_api(
    local_host, alice, busybox_image, git_server, settings
):
    settings.BERTH_STORAGE_CA_BUNDLE = str(CA_FILE)
    url = git_server.repo("remote", {"README": "hello\n", "src/app.py": "print(1)\n"})
    entries = [
        {"mount_path": "/code", "git": {"repo": url, "username": GIT_USER, "password": GIT_PASSWORD}},
        {"mount_path": "/scratch", "empty_dir": {}},
    ]
    args = _draft_instance(alice, local_host, "remotegit", entries, busybox_image)
    args["runtime"].shares_filesystem = lambda: False  # as for a tcp:// host: everything goes through the API
    code, scratch = storage_mounts.prepare_mounts(**args)
    root = Path(docker.from_env().volumes.get(code["source"]).attrs["Mountpoint"])
    assert (root / "src" / "app.py").read_text() == "print(1)\n" and (root / ".git").is_dir()
    assert (
        oct(Path(docker.from_env().volumes.get(scratch["source"]).attrs["Mountpoint"]).stat().st_mode & 0o777)
        == "0o777"
    )
