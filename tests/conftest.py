"""Shared fixtures: the personas (alice owns, bob reads, charlie is an outsider), API clients, configs."""

import copy
import os

import pytest
from django.contrib.auth import get_user_model
from rest_framework.test import APIClient

from deployments.actions.workspaces import workspace_create
from deployments.choices import Role
from deployments.models import Membership

# Fixture modules owned by their areas, so they can grow without touching this file.
pytest_plugins = ["tests.fixtures_gateway", "tests.fixtures_cli", "tests.fixtures_storage", "tests.fixtures_swarm"]

PASSWORD = "correct-horse-battery"

# The custom-image guide's Flask service, as a config.
FLASK_CONFIG = {
    "name": "flask_demo",
    "containers": [
        {
            "image": "registry.example.com/team/flask-app:1.0",
            "command": "python app.py",
            "port": 8000,
            "env": [{"name": "MODEL_DIR", "value": "/models"}],
            "prepare": {"pythonRequirements": ["flask==3.0.3"]},
            "health_check": {
                "http_get": {"path": "/hello/model", "port": 8000},
                "initial_delay_seconds": 1,
                "period_seconds": 1,
                "timeout_seconds": 1,
                "success_threshold": 1,
                "failure_threshold": 3,
            },
        }
    ],
    "metadata": {"instance": 2, "cpu": 1, "memory": 512},
}


def make_user(username: str, **extra):
    return get_user_model().objects.create_user(username=username, password=PASSWORD, **extra)


@pytest.fixture
def alice(db):
    return make_user("alice")


@pytest.fixture
def bob(db):
    return make_user("bob")


@pytest.fixture
def charlie(db):
    user = make_user("charlie")
    workspace_create(name="charlie-space", owner=user)
    return user


@pytest.fixture
def team(alice, bob):
    """alice's workspace, with bob as a viewer."""
    workspace = workspace_create(name="team-a", owner=alice)
    Membership.objects.create(workspace=workspace, user=bob, role=Role.VIEWER)
    return workspace


@pytest.fixture
def flask_config():
    return copy.deepcopy(FLASK_CONFIG)


def api_client_for(user) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user=user)
    return client


@pytest.fixture
def alice_api(alice):
    return api_client_for(alice)


@pytest.fixture
def bob_api(bob):
    return api_client_for(bob)


@pytest.fixture
def charlie_api(charlie):
    return api_client_for(charlie)


# --- the real stack for engine tests ---------------------------------------------------------

from tests import stack  # noqa: E402

SERVICE_PREFIX = f"t{stack.RUN_ID}_"


@pytest.fixture(scope="session")
def dockerd():
    proc = stack.start_dockerd()
    yield
    stack.remove_run_containers(SERVICE_PREFIX)
    stack.stop(proc)


@pytest.fixture(scope="session")
def busybox_image(dockerd) -> str:
    return stack.busybox_image()


@pytest.fixture(scope="session")
def python_image(dockerd) -> str:
    return stack.python_image()


REGISTRY_USER, REGISTRY_PASSWORD = "robot", "registry-secret-pw"


@pytest.fixture(scope="session")
def private_registry(dockerd):
    """A real registry with htpasswd auth; yields its host:port."""
    proc, address = stack.start_registry(REGISTRY_USER, REGISTRY_PASSWORD)
    yield address
    stack.stop(proc)


@pytest.fixture(scope="session")
def engine_stack(django_db_setup, django_db_blocker, dockerd):
    """Redis, a Celery worker with embedded beat, and the prober, sharing the test database file."""
    from django.conf import settings as dj_settings

    from console.celery import app as celery_app

    redis_proc, redis_url = stack.start_redis()
    dj_settings.REDIS_URL = redis_url
    dj_settings.BERTH_INSTALLATION = f"test-{stack.RUN_ID}"
    # Celery reads CELERY_BROKER_URL from the environment before its own config.
    os.environ["CELERY_BROKER_URL"] = redis_url
    celery_app.conf.broker_url = redis_url
    db_name = dj_settings.DATABASES["default"]["NAME"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "console.settings",
        "BERTH_SQLITE_PATH": str(db_name),
        "REDIS_URL": redis_url,
        "BERTH_RECONCILE_INTERVAL": "1",
        "BERTH_INSTALLATION": f"test-{stack.RUN_ID}",
        "BERTH_RESTART_BACKOFF": "1",
        "BERTH_ROLLOUT_TIMEOUT": "25",
        "BERTH_CONVERGE_LOCK_TIMEOUT": "5",
        # Containers reach PyPI through this machine's TLS proxy, whose CA is in the host bundle.
        "BERTH_EXTRA_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt",
    }
    worker = stack.start_manage(
        "worker",
        [
            "-m",
            "celery",
            "-A",
            "console",
            "worker",
            "-B",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
            "--schedule",
            str(stack.VAR / f"test-beat-{stack.RUN_ID}"),
        ],
        env,
    )
    # Teardowns (stop, delete, scale down) have their own queue and worker, as in `make run`.
    teardown_worker = stack.start_manage(
        "worker-teardown",
        [
            "-m",
            "celery",
            "-A",
            "console",
            "worker",
            "-Q",
            "teardown",
            "-n",
            f"teardown-{stack.RUN_ID}@%h",
            "--loglevel",
            "INFO",
            "--concurrency",
            "2",
        ],
        env,
    )
    prober = stack.start_manage("prober", ["manage.py", "prober", "--tick", "0.1"], env)
    yield {"redis_url": redis_url, "env": env, "worker": worker, "teardown_worker": teardown_worker}
    stack.stop(prober)
    stack.stop(teardown_worker)
    stack.stop(worker)
    stack.stop(redis_proc)


@pytest.fixture
def local_host(engine_stack, transactional_db, admin_user):
    from deployments.actions.hosts import host_register

    return host_register(name="local", url="unix:///var/run/docker.sock", address="127.0.0.1")
