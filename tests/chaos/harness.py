"""A whole Berth installation under `manage.py runall`, and the means to break it and judge the result.

Shared by tests/chaos/test_chaos.py and benchmarks/chaos.py. `Stack` starts ONE runall on free
ports (1 s health timings, 1 s grace) and talks to it only as users and operators do: the REST
API with an API key, the gateway with a service token, supervisorctl for PIDs, SIGKILL by PID.
`Stack.check` judges convergence from the outside: the database file (read-only SQL) against the
containers Docker lists with this installation's label.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import docker

from tests.stack import RUN_ID
from tests.test_make_run import free_port, manage, port_open, run_env, start_runall, supervisorctl

FAST_CHECK = {"initial_delay_seconds": 0, "period_seconds": 1, "timeout_seconds": 1, "success_threshold": 1,
              "failure_threshold": 2}  # fmt: skip
COMPONENTS = ("worker", "beat", "prober", "gateway", "haproxy", "redis", "web", "dockerd")
OPERATIONS = ("create", "update", "scale")
# Components whose death must not cost a single request: HAProxy keeps its routes without them.
HARMLESS = {"worker", "beat", "prober", "gateway", "redis", "web", "dockerd"}


def service_config(name: str, image: str, *, instance: int, body: str = "ok") -> dict:
    """busybox httpd serving `body`, an HTTP readiness check every second, a 1 s grace, rolling updates."""
    return {
        "name": name,
        "containers": [
            {
                "image": image,
                "script": f"mkdir -p /www && echo {body} > /www/index.html && exec httpd -f -p 8000 -h /www",
                "port": 8000,
                "health_check": {"http_get": {"path": "/index.html", "port": 8000}, **FAST_CHECK},
            }
        ],
        "metadata": {"instance": instance, "memory": 32, "eas": {"termination_grace_period": 1}},
    }


class Load(threading.Thread):
    """A bounded request loop through the gateway: one GET every `every` seconds until stopped.

    Counts answers other than 200 (and connection errors) per service; never more than
    1 / `every` requests a second, so it cannot starve the machine it measures.
    """

    def __init__(self, gateway_port: int, targets: dict[str, str], every: float = 0.05):
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{gateway_port}/api/predict/{{}}/index.html"
        self.targets = targets  # name -> token
        self.every = every
        self.halt = threading.Event()
        self.sent = 0
        self.failed = 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.halt.is_set():
            for name, token in list(self.targets.items()):
                request = urllib.request.Request(self.url.format(name), headers={"Authorization": token})
                self.sent += 1
                try:
                    with urllib.request.urlopen(request, timeout=5) as answer:
                        answer.read()
                except (urllib.error.URLError, OSError) as exc:
                    self.failed += 1
                    if len(self.failures) < 20:
                        self.failures.append(f"{time.strftime('%H:%M:%S')} {name}: {exc}")
            self.halt.wait(self.every)

    def stop(self) -> None:
        self.halt.set()
        self.join(timeout=10)


@dataclass
class Verdict:
    converged: bool
    orphans: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    stuck: list[str] = field(default_factory=list)  # deployments still queued or running
    off: list[str] = field(default_factory=list)  # services not at their desired count / not Running

    def summary(self) -> str:
        return json.dumps({k: v for k, v in self.__dict__.items() if v and k != "converged"})


class Stack:
    """One `manage.py runall` on free ports, for every case of a module or benchmark."""

    def __init__(self, work: Path):
        self.work = work
        self.web_port, self.redis_port, self.gateway_port = free_port(), free_port(), free_port()
        self.installation = f"chaos-{RUN_ID}"
        self.db_path = work / "berth.sqlite3"
        self.env = run_env(
            work,
            self.web_port,
            self.redis_port,
            self.gateway_port,
            BERTH_INSTALLATION=self.installation,
            BERTH_RECONCILE_INTERVAL="1",
            BERTH_RESTART_BACKOFF="1",
            BERTH_ROLLOUT_TIMEOUT="25",
            BERTH_CONVERGE_LOCK_TIMEOUT="5",
        )
        self.proc: subprocess.Popen | None = None
        self.api_key = ""
        self.docker = docker.from_env()

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        manage("migrate", "--noinput", "-v0", env=self.env)
        script = (
            "from django.contrib.auth import get_user_model;"
            "from deployments.actions.api_keys import api_key_create;"
            "u = get_user_model().objects.create_superuser('chaos', 'chaos@example.com', 'chaos-password-1');"
            "print('KEY', api_key_create(user=u, name='chaos')[1])"
        )
        out = manage("shell", "-c", script, env=self.env)
        self.api_key = re.search(r"KEY (\S+)", out).group(1)
        self.proc = start_runall(self.work, self.env, self.web_port)
        deadline = time.monotonic() + 60
        while not port_open(self.gateway_port):
            assert time.monotonic() < deadline, self.log()[-4000:]
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        for container in self.docker.api.containers(all=True, filters={"label": self.label()}):
            try:
                self.docker.api.remove_container(container["Id"], force=True, v=True)
            except docker.errors.NotFound:
                pass

    def log(self) -> str:
        return (self.work / "runall.log").read_text(errors="replace")

    def label(self) -> str:
        return f"berth.installation={self.installation}"

    # --- the API ---------------------------------------------------------------------------------

    def api(self, method: str, path: str, body: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.web_port}/api/v1/{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                raw = answer.read()
                return answer.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, {"raw": raw.decode(errors="replace")[:500]}

    def api_retrying(self, method: str, path: str, body: dict | None = None, timeout: float = 60) -> dict:
        """The call as a patient client makes it: retried while the web process is down (connection refused)."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                code, answer = self.api(method, path, body)
                assert code < 300, (code, answer)
                return answer
            except (urllib.error.URLError, ConnectionError) as exc:
                assert time.monotonic() < deadline, f"{method} {path}: {exc}"
                time.sleep(0.5)

    def token(self, name: str) -> str:
        return self.api_retrying("GET", f"services/{name}")["token"]

    # --- processes -------------------------------------------------------------------------------

    def pid(self, program: str) -> int:
        """The PID of a supervised program, or of HAProxy (the gateway controller's child)."""
        if program == "haproxy":
            # The master the controller started (or adopted) is in its pid file; a live haproxy, or none yet.
            try:
                pid = int((self.work / "gateway" / "haproxy.pid").read_text())
                assert Path(f"/proc/{pid}/comm").read_text().strip() == "haproxy"
                return pid
            except (OSError, ValueError, AssertionError):
                raise AssertionError("no HAProxy master running") from None
        found = supervisorctl(self.web_port, "pid", program).strip()
        assert found.isdigit() and int(found) > 0, f"{program} is not running: {found!r}"
        return int(found)

    def runs_own(self, program: str) -> bool:
        return program in supervisorctl(self.web_port, "status")

    def kill(self, program: str) -> int:
        pid = self.pid(program)
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_back(self, program: str, old_pid: int, timeout: float = 60) -> None:
        """Until a new process (a new PID) runs in `program`'s place."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.pid(program) != old_pid:
                    return
            except AssertionError:
                pass
            assert time.monotonic() < deadline, f"{program} did not come back:\n{self.log()[-4000:]}"
            time.sleep(0.2)

    # --- judging ---------------------------------------------------------------------------------

    def _rows(self, sql: str) -> list[tuple]:
        with sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10) as db:
            return db.execute(sql).fetchall()

    def check(self) -> Verdict:
        """Where the installation stands now: converged means every invariant of chaos.md holds."""
        services = self._rows(
            "SELECT s.id, s.name, s.status, s.instance, s.current_version_id FROM deployments_service s"
        )
        instances = self._rows("SELECT service_id, name, version_id, ready, status, ordinal FROM deployments_instance")
        verdict = Verdict(converged=False)
        names = {row[1] for row in instances}
        for sid, name, status, desired, current in services:
            mine = [row for row in instances if row[0] == sid]
            ready = [row for row in mine if row[2] == current and row[3]]
            if status != "Running" or len(mine) != desired or len(ready) != desired:
                verdict.off.append(f"{name}: {status}, {len(ready)}/{len(mine)} ready of {desired}")
            ordinals = [row[5] for row in mine]
            if len(mine) > desired or len(set(ordinals)) != len(ordinals):
                verdict.duplicates.append(f"{name}: {len(mine)} instances for {desired} ({sorted(ordinals)})")
        verdict.stuck = [
            f"{kind} #{pk} of {name}: {status} ({phase})"
            for pk, kind, status, phase, name in self._rows(
                "SELECT d.id, d.kind, d.status, d.phase, s.name FROM deployments_deployment d "
                "JOIN deployments_service s ON s.id = d.service_id WHERE d.status IN ('queued', 'running')"
            )
        ]
        mains: dict[str, int] = {}
        # The low-level list: one call, no inspect per container (one removed meanwhile is no error).
        for container in self.docker.api.containers(all=True, filters={"label": self.label()}):
            labels = container.get("Labels") or {}
            instance = labels.get("berth.instance", "")
            if instance not in names:
                verdict.orphans.append(f"{container['Names'][0]} ({container['State']})")
            if labels.get("berth.role", "main") == "main":
                mains[instance] = mains.get(instance, 0) + 1
        verdict.duplicates += [f"{name}: {n} main containers" for name, n in mains.items() if n > 1]
        verdict.converged = not (verdict.orphans or verdict.duplicates or verdict.stuck or verdict.off)
        return verdict

    def wait_converged(self, timeout: float = 120) -> tuple[float, Verdict]:
        """Seconds until `check` passes (or the last verdict at `timeout`)."""
        started = time.monotonic()
        while True:
            try:
                verdict = self.check()
            except sqlite3.OperationalError:  # locked mid-write: look again
                time.sleep(0.2)
                continue
            if verdict.converged or time.monotonic() - started > timeout:
                return time.monotonic() - started, verdict
            time.sleep(0.5)
