"""Browser tests: a real Chromium (the Debian package) driven by Playwright against pytest-django's live_server.

Never `playwright install`: it downloads a browser, which cannot work here. One
browser is launched per session (pytest-playwright's session-scoped `browser`).
"""

import os

import pytest

from deployments.engine import tasks

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls
# from a thread with a running loop unless told this is fine (it is: tests only).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
        ],
    }  # fmt: skip


@pytest.fixture(autouse=True)
def _browser_db(transactional_db):
    """live_server serves from another thread, so the data must be committed, not in a rolled-back transaction."""


@pytest.fixture(autouse=True)
def no_task_queue(request, monkeypatch):
    """Saving a service enqueues its deployment after commit; these tests check the console, not the engine.

    Without this the live server would try to reach Redis. Records what would have been sent.
    Tests that run the real engine (they use `engine_stack`, e.g. through `local_host`) keep the
    real queue: their worker must receive the tasks.
    """

    sent = []
    if "engine_stack" in request.fixturenames:
        return sent

    class _Result:
        id = ""

    def fake_delay(task_name):
        def delay(*args, **kwargs):
            sent.append((task_name, args))
            return _Result()

        return delay

    def fake_apply_async(task_name):
        def apply_async(args=(), kwargs=None, **options):
            sent.append((task_name, tuple(args)))
            return _Result()

        return apply_async

    for name in ("deployment_execute_task", "deployment_restart_task", "service_converge_task"):
        task = getattr(tasks, name)
        # Recorded by the Celery name's last part ("deployment_execute"), which messages carry.
        monkeypatch.setattr(task, "delay", fake_delay(task.name.rsplit(".", 1)[-1]))
        monkeypatch.setattr(task, "apply_async", fake_apply_async(task.name.rsplit(".", 1)[-1]))
    return sent
