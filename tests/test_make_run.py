"""`make run`'s process runner: it starts Redis, web, worker and beat, the login works, Ctrl-C stops all.

The processes run under supervisord (console/supervise.py): a killed one is restarted while the
rest serve, one that keeps crashing is reported and left down, and /healthz?full=1 tells which of
Berth's own processes have stopped beating.
"""

import http.cookiejar
import json
import os
import re
import shutil
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
import redis

from console import processes
from tests.stack import process_tree

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


def run_env(tmp_path: Path, web_port: int, redis_port: int, gateway_port: int, **extra: str) -> dict:
    return {
        **os.environ,
        "BERTH_SQLITE_PATH": str(tmp_path / "berth.sqlite3"),
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "BERTH_BIND": f"127.0.0.1:{web_port}",
        "BERTH_GATEWAY_HTTP_PORT": str(gateway_port),
        "BERTH_GATEWAY_GRPC_PORT": str(free_port()),
        "BERTH_GATEWAY_DIR": str(tmp_path / "gateway"),
        "BERTH_INTERNET_ENDPOINT": f"http://127.0.0.1:{gateway_port}",
        "DJANGO_SETTINGS_MODULE": "console.settings",
        # Beat every second, stale after 3 s: a stopped process shows within seconds.
        "BERTH_HEARTBEAT_INTERVAL": "1",
        "BERTH_HEARTBEAT_STALE": "3",
        **extra,
    }


def start_runall(tmp_path: Path, env: dict, web_port: int) -> subprocess.Popen:
    log = open(tmp_path / "runall.log", "w+")
    proc = subprocess.Popen(
        [sys.executable, "manage.py", "runall"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 90
    while not (port_open(web_port) and "Berth is up" in (tmp_path / "runall.log").read_text()):
        assert proc.poll() is None, (tmp_path / "runall.log").read_text()
        assert time.monotonic() < deadline, (tmp_path / "runall.log").read_text()
        time.sleep(0.3)
    return proc


def supervisorctl(web_port: int, *args: str) -> str:
    conf = ROOT / "var" / "run" / str(web_port) / "supervisord.conf"
    result = subprocess.run(
        [sys.executable, "-m", "supervisor.supervisorctl", "-c", str(conf), *args], capture_output=True, text=True
    )
    return result.stdout


def statuses(web_port: int) -> dict[str, str]:
    """{program: state} as supervisorctl shows them."""
    lines = supervisorctl(web_port, "status").splitlines()
    return {line.split()[0]: line.split()[1] for line in lines if line.strip()}


def health(web_port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz?full=1", timeout=10) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_until(predicate, *, timeout: float, what: str, log: Path):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{log.read_text()[-6000:]}"
        time.sleep(0.2)


def identities(pids: list[int]) -> set[tuple[int, str]]:
    """(pid, start time) of each live process: a pid reused later is not mistaken for a leftover."""
    found = set()
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if stat[0] != "Z":
            found.add((pid, stat[19]))
    return found


@pytest.fixture
def tidy():
    """Ports whose run directories (supervisord config and logs, Redis's AOF) are removed after the test."""
    ports: list[int] = []
    yield ports
    for port in ports:
        shutil.rmtree(ROOT / "var" / "run" / str(port), ignore_errors=True)
        shutil.rmtree(ROOT / "var" / "redis" / str(port), ignore_errors=True)


def stop_and_check_nothing_is_left(proc: subprocess.Popen, sig: int) -> None:
    before = identities(process_tree(proc.pid))
    assert len(before) > 8, before  # runall, supervisord, redis, gunicorn and its workers, celery...
    proc.send_signal(sig)
    proc.wait(timeout=90)
    time.sleep(0.5)
    left = before & identities([pid for pid, _ in before])
    assert not left, f"processes left after stopping: {left}"


@pytest.mark.redis
@pytest.mark.docker
def test_runall_serves_the_console_the_login_works_and_ctrl_c_stops_everything(tmp_path, dockerd, tidy):
    web_port, redis_port, gateway_port = free_port(), free_port(), free_port()
    tidy += [web_port, redis_port]
    env = run_env(tmp_path, web_port, redis_port, gateway_port)
    manage("migrate", "--noinput", "-v0", env=env)
    created = manage("ensure_admin", env=env)
    username, password = re.search(r"created admin login: (\S+) / (\S+)", created).groups()
    assert "exists" in manage("ensure_admin", env=env)  # printed once only

    log_path = tmp_path / "runall.log"
    proc = start_runall(tmp_path, env, web_port)
    try:
        assert port_open(redis_port), "runall should have started redis-server"
        # The Redis it started keeps an append-only file.
        assert redis.Redis(port=redis_port).config_get("appendonly") == {"appendonly": "yes"}
        # It runs what console/processes.py describes: Berth's own processes, plus Redis (none answered).
        expected = {p.name: "RUNNING" for p in processes.own()} | {"redis": "RUNNING"}
        wait_until(lambda: statuses(web_port) == expected, timeout=60, what=f"{expected}", log=log_path)
        # The gateway answers: an unknown service is a JSON 404 from HAProxy.
        deadline = time.monotonic() + 30
        while not port_open(gateway_port):
            assert time.monotonic() < deadline, log_path.read_text()
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
        page = opener.open(
            urllib.request.Request(f"{base}/accounts/login/", data=form.encode(), headers={"Referer": base})
        )
        body = page.read().decode()
        assert page.geturl().rstrip("/").endswith("/services") or "/services" in page.geturl(), page.geturl()
        assert f"Log out {username}" in body
        text = log_path.read_text()
        for prefix in ("    web |", " worker |", " reaper |", "   beat |", "  redis |", " prober |", "gateway |"):
            assert prefix in text, f"missing {prefix!r} in:\n{text}"

        # Everything up: /healthz?full=1 is 200 and every process of ours has a fresh heartbeat.
        status, report = wait_until(
            lambda: (answer := health(web_port))[0] == 200 and answer, timeout=60, what="a healthy report", log=log_path
        )
        assert set(report["processes"]) == {"worker", "beat", "prober", "gateway"}
        assert all(p["fresh"] for p in report["processes"].values()), report
        assert report["redis"]["ok"] and report["database"]["ok"] and report["gateway"]["ok"], report
        assert report["queue"]["depth"] == 0
        assert report["docker_hosts"]["local"]["ok"], report
        assert urllib.request.urlopen(f"{base}/healthz").read() == b'{"ok": true}'  # plain /healthz unchanged

        # SIGKILL the worker: supervisord starts a new one within seconds; the web answers throughout.
        old_worker = int(supervisorctl(web_port, "pid", "worker"))
        os.kill(old_worker, signal.SIGKILL)
        deadline, answers = time.monotonic() + 20, []
        while True:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
                answers.append(answer.status)
            pid = supervisorctl(web_port, "pid", "worker").strip()
            if pid.isdigit() and int(pid) not in (0, old_worker):
                break
            assert time.monotonic() < deadline, log_path.read_text()[-4000:]
            time.sleep(0.1)
        new_worker = int(pid)
        restarted_after = time.monotonic() - (deadline - 20)
        assert restarted_after < 10, f"the worker came back only after {restarted_after:.1f} s"
        # The new worker works (its heartbeat comes from its event loop); the web answers all along.
        while health(web_port)[1]["processes"]["worker"]["pid"] != new_worker:
            with urllib.request.urlopen(f"{base}/healthz", timeout=5) as answer:
                answers.append(answer.status)
            assert time.monotonic() < deadline + 60, log_path.read_text()[-4000:]
            time.sleep(0.2)
        assert set(answers) == {200}
        wait_until(
            lambda: "worker died; supervisord is restarting it" in log_path.read_text(),
            timeout=5,
            what="the restart reported",
            log=log_path,
        )

        # The prober stopped and not restarted: its heartbeat goes stale and the report says so, with 503.
        supervisorctl(web_port, "stop", "prober")
        status, report = wait_until(
            lambda: (answer := health(web_port))[0] == 503 and answer, timeout=20, what="a 503", log=log_path
        )
        assert report["processes"]["prober"]["fresh"] is False
        assert "prober: no fresh heartbeat" in report["problems"]
        assert all(report["processes"][name]["fresh"] for name in ("worker", "beat", "gateway")), report
    finally:
        if proc.poll() is None:
            stop_and_check_nothing_is_left(proc, signal.SIGINT)
    assert proc.returncode == 0, log_path.read_text()[-4000:]
    assert not port_open(web_port)
    assert not port_open(redis_port)
    assert not port_open(gateway_port)


@pytest.mark.redis
@pytest.mark.docker
def test_a_process_that_keeps_crashing_is_reported_and_the_others_keep_running(tmp_path, dockerd, tidy):
    web_port, redis_port, gateway_port = free_port(), free_port(), free_port()
    tidy += [web_port, redis_port]
    # No HAProxy binary: the gateway controller dies at every start.
    env = run_env(tmp_path, web_port, redis_port, gateway_port, BERTH_GATEWAY_HAPROXY="/bin/false")
    manage("migrate", "--noinput", "-v0", env=env)
    log_path = tmp_path / "runall.log"
    proc = start_runall(tmp_path, env, web_port)
    try:
        wait_until(
            lambda: statuses(web_port).get("gateway") == "FATAL", timeout=120, what="gateway FATAL", log=log_path
        )
        wait_until(lambda: "!! gateway is crashing" in log_path.read_text(), timeout=5, what="the report", log=log_path)
        assert "it stays down" in log_path.read_text()
        time.sleep(2)
        others = statuses(web_port)
        assert others.pop("gateway") == "FATAL"
        assert set(others.values()) == {"RUNNING"}, others
        assert proc.poll() is None
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/healthz", timeout=5) as answer:
            assert answer.status == 200
        status, report = health(web_port)
        assert status == 503 and "gateway: no fresh heartbeat" in report["problems"], report
    finally:
        if proc.poll() is None:
            stop_and_check_nothing_is_left(proc, signal.SIGTERM)
    assert not port_open(web_port)
    assert not port_open(redis_port)
