"""`make run`: start Berth's processes in the foreground with prefixed logs; Ctrl-C stops them all.

Starts Redis and dockerd when none answers, registers the local Docker engine as
host `local`, then web (gunicorn), the Celery worker, the teardown worker, beat and the prober. Only
processes started here are stopped here.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

COLOURS = ["\033[36m", "\033[33m", "\033[35m", "\033[32m", "\033[34m", "\033[31m"]
RESET = "\033[0m"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _docker_answers(socket_path: str) -> bool:
    """True when a Docker engine answers /_ping on the unix socket."""
    try:
        with socket.socket(socket.AF_UNIX) as s:
            s.settimeout(1)
            s.connect(socket_path)
            s.sendall(b"GET /_ping HTTP/1.0\r\n\r\n")
            return b"200 OK" in s.recv(200)
    except OSError:
        return False


class Command(BaseCommand):
    help = "Run web, worker, beat and the prober (and Redis, dockerd if needed) in the foreground; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("BERTH_BIND", "127.0.0.1:8000"))

    def handle(self, *args, bind: str, **options):
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.lock = threading.Lock()
        self.stopping = False
        # Explicit handlers: a shell that starts us in the background makes SIGINT ignored otherwise.
        signal.signal(signal.SIGTERM, lambda *_: self._stop_all())
        signal.signal(signal.SIGINT, lambda *_: self._stop_all())
        python = sys.executable
        base = Path(settings.BASE_DIR)
        var = base / "var"
        var.mkdir(exist_ok=True)

        redis = urlparse(settings.REDIS_URL)
        redis_host, redis_port = redis.hostname or "127.0.0.1", redis.port or 6379
        if not _port_open(redis_host, redis_port):
            server = shutil.which("redis-server") or "/usr/bin/redis-server"
            self._spawn("redis", [server, "--port", str(redis_port), "--bind", redis_host, "--save", "", "--appendonly", "no"])
            self._wait_port("redis", redis_host, redis_port)

        if settings.BERTH_LOCAL_DOCKER_URL.startswith("unix://"):
            socket_path = settings.BERTH_LOCAL_DOCKER_URL[len("unix://"):]
            if not _docker_answers(socket_path):
                dockerd = shutil.which("dockerd") or "/usr/sbin/dockerd"
                self._spawn("dockerd", [dockerd, "-H", f"unix://{socket_path}"])
                self._wait(lambda: _docker_answers(socket_path), "dockerd", timeout=60)
        call_command("register_local_host", stdout=self.stdout)

        self._spawn(
            "web",
            [python, "-m", "gunicorn", "console.wsgi", "--bind", bind, "--workers", "3", "--access-logfile", "-"],
        )
        self._spawn(
            "worker",
            [python, "-m", "celery", "-A", "console", "worker", "--loglevel", "INFO", "--concurrency", "2"],
        )
        if settings.BERTH_TEARDOWN_QUEUE:
            # Teardowns wait out grace periods: their own worker keeps them from starving deploys.
            self._spawn(
                "reaper",
                [python, "-m", "celery", "-A", "console", "worker", "--loglevel", "INFO", "--concurrency", "2",
                 "-Q", settings.BERTH_TEARDOWN_QUEUE, "-n", "teardown@%h"],
            )
        self._spawn(
            "beat",
            [python, "-m", "celery", "-A", "console", "beat", "--loglevel", "INFO",
             "--schedule", str(var / "celerybeat-schedule")],
        )
        self._spawn("prober", [python, str(base / "manage.py"), "prober"])
        self._spawn("gateway", [python, str(base / "manage.py"), "gateway"])
        self._wait_port("web", *bind.rsplit(":", 1))
        host, port = bind.rsplit(":", 1)
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.stdout.write(
            f"\nBerth is up:\n  console   http://{shown}:{port}/\n  API docs  http://{shown}:{port}/api/docs/\n"
            f"  gateway   {settings.BERTH_INTERNET_ENDPOINT}/api/predict/<service>\n"
            f"  admin     http://{shown}:{port}/admin/\nPress Ctrl-C to stop everything.\n"
        )
        try:
            while not self.stopping:
                for name, proc in list(self.children):
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with code {proc.returncode}; stopping everything")
                        self._stop_all()
                        sys.exit(1)
                time.sleep(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self._stop_all()

    def _spawn(self, name: str, argv: list[str]) -> None:
        colour = COLOURS[len(self.children) % len(COLOURS)]
        prefix = f"{colour}{name:>7} |{RESET} " if sys.stdout.isatty() else f"{name:>7} | "
        proc = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
            start_new_session=True,  # Ctrl-C reaches us only; we stop children in order
        )
        self.children.append((name, proc))

        def pump():
            for line in proc.stdout:
                with self.lock:
                    sys.stdout.write(prefix + line)
                    sys.stdout.flush()

        threading.Thread(target=pump, daemon=True).start()

    def _wait_port(self, name: str, host: str, port, timeout: float = 30) -> None:
        self._wait(lambda: _port_open(host or "127.0.0.1", int(port)), f"{name} on {host}:{port}", timeout=timeout)

    def _wait(self, ready, what: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ready():
                return
            time.sleep(0.2)
        self.stderr.write(f"{what} did not come up within {timeout:.0f}s")

    def _stop_all(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                proc.terminate()
        deadline = time.monotonic() + 10
        for _, proc in reversed(self.children):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
