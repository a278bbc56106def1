"""`make run`'s supervision: supervisord runs the process set, this module shows it in the foreground.

supervisord (not our own loop) restarts a process that dies: at once when it had been up for
`START_SECONDS`, with a growing back-off (1 s, 2 s, 3 s) when it dies while starting, and it gives
up (FATAL) after `START_RETRIES` quick failures; the others keep running. Its config is rendered
from console/processes.py. Children write to per-process log files that `Foreground` follows and
prints as `  name | line`, one colour per process; it also polls supervisord's XML-RPC interface
and reports restarts and FATAL processes in plain words.
"""

from __future__ import annotations

import os
import secrets
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
import xmlrpc.client
from pathlib import Path

from supervisor.xmlrpc import SupervisorTransport

from console.processes import Process, command

COLOURS = ["\033[36m", "\033[33m", "\033[35m", "\033[32m", "\033[34m", "\033[91m", "\033[96m", "\033[93m"]
RED, RESET = "\033[1;31m", "\033[0m"
START_SECONDS = (
    10  # up this long = started; a death before that counts as a failed start (Django needs seconds on a busy machine)
)
START_RETRIES = 3  # failed starts in a row before supervisord gives up (FATAL)
LOG_MAX_BYTES = 20 * 1024 * 1024
AUTH_USER = "berth"
SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def _ini(value: str) -> str:
    """supervisord's config is interpolated (%(ENV_X)s): a literal % is written %%."""
    return value.replace("%", "%%")


def _resolve(argv: list[str]) -> list[str]:
    """An absolute argv[0]: dockerd and redis-server live in sbin directories not always on PATH."""
    found = shutil.which(argv[0]) or shutil.which(argv[0], path=SBIN_PATH)
    return [found or argv[0], *argv[1:]]


def render_config(
    processes: list[Process], values: dict[str, str], *, run_dir: Path, base: Path, password: str = ""
) -> str:
    """supervisord.conf for `processes`, none started automatically (`Foreground.start` orders them).

    The environment is inherited from `make run`, so no secret of Berth's is written to this file;
    `password` (random per run) guards supervisord's socket besides its 0700 mode.
    """
    auth = [f"username={AUTH_USER}", f"password={_ini(password)}"] if password else []
    sections = [
        "[supervisord]",
        "nodaemon=true",
        f"logfile={_ini(str(run_dir / 'supervisord.log'))}",
        "logfile_maxbytes=5MB",
        "logfile_backups=1",
        f"pidfile={_ini(str(run_dir / 'supervisord.pid'))}",
        f"childlogdir={_ini(str(run_dir / 'logs'))}",
        "loglevel=info",
        *(["user=root"] if os.geteuid() == 0 else []),  # says "yes, as root" (else a CRIT line at every start)
        "",
        "[unix_http_server]",
        f"file={_ini(str(run_dir / 'supervisor.sock'))}",
        "chmod=0700",
        *auth,
        "",
        "[rpcinterface:supervisor]",
        "supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface",
        "",
        "[supervisorctl]",
        f"serverurl=unix://{_ini(str(run_dir / 'supervisor.sock'))}",
        *auth,
    ]
    for priority, process in enumerate(processes, start=1):
        sections += [
            "",
            f"[program:{process.name}]",
            f"command={_ini(shlex.join(_resolve(command(process, values))))}",
            f"directory={_ini(str(base))}",
            f"priority={priority * 10}",
            "autostart=false",
            "autorestart=true",
            f"startsecs={START_SECONDS}",
            f"startretries={START_RETRIES}",
            "stopsignal=TERM",
            f"stopwaitsecs={process.stop_wait}",
            # Each program is its own process group: stop and kill reach gunicorn's and Celery's children.
            "stopasgroup=true",
            "killasgroup=true",
            "redirect_stderr=true",
            f"stdout_logfile={_ini(str(log_path(run_dir, process.name)))}",
            f"stdout_logfile_maxbytes={LOG_MAX_BYTES}",
            "stdout_logfile_backups=1",
        ]
        if process.env:
            pairs = ",".join(f'{key}="{_ini(value)}"' for key, value in sorted(process.env.items()))
            sections.append(f"environment={pairs}")
    return "\n".join(sections) + "\n"


def log_path(run_dir: Path, name: str) -> Path:
    return run_dir / "logs" / f"{name}.log"


class Foreground:
    """Runs supervisord as a child, prints its children's logs with prefixes, reports their state."""

    def __init__(self, processes: list[Process], values: dict[str, str], *, run_dir: Path, base: Path):
        self.processes = processes
        self.run_dir = run_dir
        self.config_path = run_dir / "supervisord.conf"
        self.tty = sys.stdout.isatty()
        self.width = max(len("supervise"), *(len(p.name) for p in processes))
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.supervisord: subprocess.Popen | None = None
        self.last_pids: dict[str, int] = {}
        (run_dir / "logs").mkdir(parents=True, exist_ok=True)
        for process in processes:  # a fresh run shows its own logs, not the previous run's
            for old in (run_dir / "logs").glob(f"{process.name}.log*"):
                old.unlink()
        self.password = secrets.token_urlsafe(24)
        self.config_path.touch(mode=0o600)
        self.config_path.chmod(0o600)  # before the password is in it
        self.config_path.write_text(
            render_config(processes, values, run_dir=run_dir, base=base, password=self.password)
        )

    # --- output ----------------------------------------------------------------------------------

    def say(self, name: str, line: str, *, alarm: bool = False) -> None:
        """One prefixed line on stdout (`  worker | ...`); whole lines only, whatever thread writes."""
        index = next((i for i, p in enumerate(self.processes) if p.name == name), len(self.processes))
        label = f"{name:>{self.width}} |"
        if self.tty:
            label = f"{COLOURS[index % len(COLOURS)]}{label}{RESET}"
            if alarm:
                line = f"{RED}{line}{RESET}"
        with self.lock:
            sys.stdout.write(f"{label} {line.rstrip()}\n")
            sys.stdout.flush()

    def _follow(self, name: str, path: Path) -> None:
        """Print lines appended to `path`; reopen it when supervisord rotates it."""
        handle, inode, partial = None, None, ""
        while True:
            if handle is None:
                try:
                    handle, inode = open(path, errors="replace"), path.stat().st_ino
                except OSError:
                    if self.done.is_set():
                        return
                    time.sleep(0.1)
                    continue
            chunk = handle.read()
            if chunk:
                partial += chunk
                *lines, partial = partial.split("\n")
                for line in lines:
                    self.say(name, line)
                continue
            try:
                rotated = path.stat().st_ino != inode
            except OSError:
                rotated = True
            if rotated:
                handle.close()
                handle = None
            elif self.done.is_set():
                return
            else:
                time.sleep(0.1)

    def _pipe(self, stream) -> None:
        for line in stream:
            self.say("supervise", line)

    # --- supervisord -----------------------------------------------------------------------------

    def rpc(self):
        transport = SupervisorTransport(
            AUTH_USER, self.password, serverurl=f"unix://{self.run_dir / 'supervisor.sock'}"
        )
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport).supervisor

    def start_supervisord(self) -> None:
        self.supervisord = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.config_path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C reaches `make run` only; it stops supervisord, which stops the rest
        )
        threading.Thread(target=self._pipe, args=(self.supervisord.stdout,), daemon=True).start()
        for process in self.processes:
            threading.Thread(
                target=self._follow, args=(process.name, log_path(self.run_dir, process.name)), daemon=True
            ).start()
        deadline = time.monotonic() + 20
        while True:
            try:
                self.rpc().getState()
                return
            except (OSError, xmlrpc.client.Fault):
                if self.supervisord.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("supervisord did not start; see its lines above") from None
                time.sleep(0.1)

    def start(self, name: str) -> None:
        """Ask supervisord to start `name` without waiting for it to count as started."""
        self.rpc().startProcess(name, False)

    def watch(self, stopping: threading.Event) -> None:
        """Report state changes until `stopping` is set or supervisord dies."""
        states: dict[str, str] = {}
        restarting: set[str] = set()
        while not stopping.is_set() and self.supervisord.poll() is None:
            try:
                infos = self.rpc().getAllProcessInfo()
            except (OSError, xmlrpc.client.Fault):
                time.sleep(0.5)
                continue
            for info in infos:
                name, state = info["name"], info["statename"]
                if info["pid"]:
                    self.last_pids[name] = info["pid"]
                before = states.get(name)
                states[name] = state
                if before == state or stopping.is_set():
                    continue
                if state == "FATAL":
                    self.say(
                        "supervise",
                        f"!! {name} is crashing: it died {START_RETRIES + 1} times within {START_SECONDS} s of "
                        f"starting, so it stays down ({info['spawnerr'] or info['description']}). "
                        f"Everything else keeps running. Fix it, then: "
                        f"supervisorctl -c {self.config_path} start {name}",
                        alarm=True,
                    )
                elif before == "RUNNING" and state in ("EXITED", "STARTING", "BACKOFF"):
                    # A poll can miss EXITED: supervisord restarts a process that was up at once.
                    self.say("supervise", f"{name} died; supervisord is restarting it", alarm=True)
                    restarting.add(name)
                elif state == "BACKOFF":
                    self.say("supervise", f"{name} died while starting; retrying with back-off", alarm=True)
                    restarting.add(name)
                elif state == "STOPPED":
                    self.say("supervise", f"{name} stopped (by supervisorctl); it stays down until started")
                elif state == "RUNNING" and name in restarting:
                    restarting.discard(name)
                    self.say("supervise", f"{name} is running again (pid {info['pid']})")
            time.sleep(0.5)

    def stop(self, timeout: float) -> int:
        """SIGTERM to supervisord (it stops every child, by group); SIGKILL what is left after `timeout`.

        Returns 0 when supervisord stopped everything itself, 1 otherwise.
        """
        clean = False
        if self.supervisord and self.supervisord.poll() is None:
            self.supervisord.send_signal(signal.SIGTERM)
            try:
                clean = self.supervisord.wait(timeout=timeout) == 0
            except subprocess.TimeoutExpired:
                self.supervisord.kill()
                self.supervisord.wait()
        if not clean:
            # supervisord died or hung: its children's groups must not outlive `make run`.
            for pid in self.last_pids.values():
                try:
                    os.killpg(pid, signal.SIGKILL)
                except OSError:
                    pass
        time.sleep(0.3)  # let the followers print the last lines
        self.done.set()
        return 0 if clean else 1
