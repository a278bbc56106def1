"""`make run`'s process runner: it starts Redis, web, worker and beat, the login works, Ctrl-C stops all."""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.3):
            return True
    except OSError:
        return False


def manage(*args, env) -> str:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.redis
@pytest.mark.docker
def test_runall_serves_the_console_the_login_works_and_ctrl_c_stops_everything(tmp_path, dockerd):
    web_port, redis_port, gateway_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "BERTH_SQLITE_PATH": str(tmp_path / "berth.sqlite3"),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "BERTH_BIND": f"127.0.0.1:{web_port}",
        "BERTH_GATEWAY_HTTP_PORT": str(gateway_port),
        "BERTH_GATEWAY_GRPC_PORT": str(free_port()),
        "BERTH_GATEWAY_DIR": str(tmp_path / "gateway"),
        "BERTH_INTERNET_ENDPOINT": f"http://127.0.0.1:{gateway_port}",
        "DJANGO_SETTINGS_MODULE": "console.settings",
    }
    manage("migrate", "--noinput", "-v0", env=env)
    created = manage("ensure_admin", env=env)
    username, password = re.search(r"created admin login: (\S+) / (\S+)", created).groups()
    assert "exists" in manage("ensure_admin", env=env)  # printed once only

    log = open(tmp_path / "runall.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runall"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 60
        while not (port_open(web_port) and "Berth is up" in (tmp_path / "runall.log").read_text()):
            assert proc.poll() is None, (tmp_path / "runall.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "runall.log").read_text()
            time.sleep(0.3)
        assert port_open(redis_port), "runall should have started redis-server"
        # The gateway answers: an unknown service is a JSON 404 from HAProxy.
        deadline = time.monotonic() + 30
        while not port_open(gateway_port):
            assert time.monotonic() < deadline, (tmp_path / "runall.log").read_text()
            time.sleep(0.3)
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{gateway_port}/api/predict/nothing_here/")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404

        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        base = f"http://127.0.0.1:{web_port}"
        opener.open(f"{base}/accounts/login/").read()
        csrf = next(c.value for c in jar if c.name == "csrftoken")
        form = urllib.parse.urlencode({"username": username, "password": password, "csrfmiddlewaretoken": csrf})
        page = opener.open(urllib.request.Request(f"{base}/accounts/login/", data=form.encode(), headers={"Referer": base}))
        body = page.read().decode()
        assert page.geturl().rstrip("/").endswith("/services") or "/services" in page.geturl(), page.geturl()
        assert f"Log out {username}" in body
        text = (tmp_path / "runall.log").read_text()
        for prefix in ("    web |", " worker |", " reaper |", "   beat |", "  redis |", " prober |", "gateway |"):
            assert prefix in text, f"missing {prefix!r} in:\n{text}"
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert not port_open(web_port)
    assert not port_open(redis_port)
    assert not port_open(gateway_port)
