"""Processors as real processes: a source file run by this interpreter with `processor/` on its path."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import stack

SDK = stack.ROOT / "processor"


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict
    elapsed: float


def request(port: int, body: bytes = b"", *, method: str = "POST", path: str = "/", timeout: float = 15) -> Response:
    """One request on a fresh connection; never raises on an HTTP status."""
    started = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        data = response.read()
        headers = {k.lower(): v for k, v in response.getheaders()}
        return Response(response.status, data, headers, time.monotonic() - started)
    finally:
        conn.close()


@dataclass
class Processor:
    proc: subprocess.Popen
    port: int
    log: Path

    def request(self, body: bytes = b"", **kwargs) -> Response:
        return request(self.port, body, **kwargs)

    def wait_listening(self, timeout: float = 15) -> None:
        def up():
            if self.proc.poll() is not None:
                raise AssertionError(f"processor exited with {self.proc.returncode}:\n{self.output()}")
            return stack.port_open(self.port)

        stack.wait_for(up, timeout=timeout, interval=0.05, what="the processor to listen")

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@pytest.fixture
def start_processor(tmp_path):
    """start_processor(source, env={...}, wait=True) -> Processor listening on a free loopback port."""
    started: list[subprocess.Popen] = []

    def start(source: str, *, env: dict | None = None, wait: bool = True) -> Processor:
        port = stack.free_port()
        app = tmp_path / f"app{len(started)}.py"
        app.write_text(textwrap.dedent(source))
        log = tmp_path / f"app{len(started)}.log"
        environment = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ALLSPARK_")},
            "PYTHONPATH": str(SDK),
            "ALLSPARK_ENDPOINT": f"127.0.0.1:{port}",
            **(env or {}),
        }
        with open(log, "wb") as out:
            proc = subprocess.Popen([sys.executable, str(app)], env=environment, stdout=out, stderr=subprocess.STDOUT)
        started.append(proc)
        processor = Processor(proc, port, log)
        if wait:
            processor.wait_listening()
        return processor

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
