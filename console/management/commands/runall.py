"""`make run`: start Berth's processes in the foreground with prefixed logs; Ctrl-C stops them all.

Starts Redis when none answers at REDIS_URL, then web (gunicorn), the Celery
worker and beat. Later issues add the prober, the gateway controller, HAProxy
and dockerd to PROCESSES. Only processes started here are stopped here.
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
from django.core.management.base import BaseCommand

COLOURS = ["\033[36m", "\033[33m", "\033[35m", "\033[32m", "\033[34m", "\033[31m"]
RESET = "\033[0m"


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class Command(BaseCommand):
    help = "Run web, worker and beat (and Redis if needed) in the foreground; Ctrl-C stops all."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default=os.environ.get("BERTH_BIND", "127.0.0.1:8000"))

    def handle(self, *args, bind: str, **options):
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.lock = threading.Lock()
        self.stopping = False
        signal.signal(signal.SIGTERM, lambda *_: self._stop_all())
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

        self._spawn(
            "web",
            [python, "-m", "gunicorn", "console.wsgi", "--bind", bind, "--workers", "3", "--access-logfile", "-"],
        )
        self._spawn(
            "worker",
            [python, "-m", "celery", "-A", "console", "worker", "--loglevel", "INFO", "--concurrency", "2"],
        )
        self._spawn(
            "beat",
            [python, "-m", "celery", "-A", "console", "beat", "--loglevel", "INFO",
             "--schedule", str(var / "celerybeat-schedule")],
        )
        self._wait_port("web", *bind.rsplit(":", 1))
        host, port = bind.rsplit(":", 1)
        shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
        self.stdout.write(
            f"\nBerth is up:\n  console   http://{shown}:{port}/\n  API docs  http://{shown}:{port}/api/docs/\n"
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
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if _port_open(host or "127.0.0.1", int(port)):
                return
            time.sleep(0.2)
        self.stderr.write(f"{name} did not open {host}:{port} within {timeout:.0f}s")

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
