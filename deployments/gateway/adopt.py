"""An HAProxy master that outlived its controller, taken over by the next controller.

HAProxy must keep serving its routes while the gateway controller is down (killed, restarting):
so it is not tied to the controller's life. The controller records the master's PID in a file
next to the config; a controller that starts finds that master (same PID, still `haproxy`, still
running this installation's config) and adopts it with a seamless reload instead of starting a
second one. `Adopted` gives a non-child process the few `subprocess.Popen` methods the controller
uses.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path


def _alive(pid: int) -> bool:
    """True while `pid` runs (a zombie, or a PID now used by something else, is not ours)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _runs(pid: int, haproxy: str, config_file: Path) -> bool:
    """True when `pid` is an HAProxy (the binary `haproxy` names) running `config_file`."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    words = [part.decode(errors="replace") for part in argv if part]
    return bool(words) and Path(words[0]).name == Path(haproxy).name and str(config_file) in words


class Adopted:
    """A running HAProxy master that is not our child: poll, signal and wait by PID."""

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode: int | None = None

    def poll(self) -> int | None:
        if self.returncode is None and not _alive(self.pid):
            self.returncode = -1  # not our child: its exit status is its parent's (init's) to read
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                self.returncode = -1

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"haproxy {self.pid}", timeout)
            time.sleep(0.05)
        return self.returncode


def pid_file(directory: Path) -> Path:
    return directory / "haproxy.pid"


def record(directory: Path, pid: int) -> None:
    """Remember the master's PID for the next controller."""
    pid_file(directory).write_text(f"{pid}\n")


def find(directory: Path, haproxy: str, config_file: Path) -> Adopted | None:
    """The master a previous controller left running on this config, or None."""
    try:
        pid = int(pid_file(directory).read_text().strip())
    except (OSError, ValueError):
        return None
    if _alive(pid) and _runs(pid, haproxy, config_file):
        return Adopted(pid)
    return None
