"""The gateway controller: keeps a child HAProxy serving exactly what the database says.

Every tick it reads the state (deployments/gateway/state.py) and applies the difference:

- instances joining, leaving, becoming ready or not, changing port: runtime API
  (`add server`, `set server ... state ready|maint`, `set server ... addr`, `del server`);
  a server leaving is put in maintenance first, so its in-flight requests finish, and is
  deleted once HAProxy reports it idle;
- tokens: `set map` on tokens.map, so a rotation takes effect on the next request;
- services appearing or disappearing, or changing gateway settings (gRPC, timeout,
  limits): a seamless reload (master-worker: the old worker finishes its requests while
  the new one takes the listening sockets), which is the only way to add a backend.

Any runtime command HAProxy refuses triggers a reload from the full state, so HAProxy
never drifts from the database for longer than one tick.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import time
from pathlib import Path

from django.db import close_old_connections

from deployments.gateway import render
from deployments.gateway.haproxy import HAProxyError, RuntimeAPI
from deployments.gateway.metrics import LogReader, TrafficCollector
from deployments.gateway.rates import RatePublisher
from deployments.gateway.state import GatewayState, StateReader

log = logging.getLogger(__name__)


def _die_with_parent() -> None:
    """In the child before exec: HAProxy's master gets SIGTERM if the controller dies, even by SIGKILL."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def write_private(path: Path, text: str) -> None:
    """Write atomically, mode 0600 (map files hold tokens)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)


class Controller:
    def __init__(self, options: render.Options, *, haproxy: str, tick: float, metrics_interval: float, retention_hours: int):
        self.options = options
        self.haproxy = haproxy
        self.tick_seconds = tick
        self.reader = StateReader()
        self.api = RuntimeAPI(options.admin_socket, options.master_socket)
        self.proc: subprocess.Popen | None = None
        self.applied: GatewayState | None = None
        self.static: tuple | None = None
        self.leaving: set[tuple[str, str]] = set()  # (backend, server) in maintenance, to delete when idle
        self.needs_reload = False
        self.metrics_interval = metrics_interval
        self.retention_hours = retention_hours
        self.logs: LogReader | None = None
        self.collector: TrafficCollector | None = None
        self.rates: RatePublisher | None = None
        self.stopping = False

    # --- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        directory = self.options.directory
        directory.mkdir(parents=True, exist_ok=True)
        os.chmod(directory, 0o700)
        self.logs = LogReader(self.options.log_socket)
        self.logs.start()
        state = self.reader.read()
        self._write_files(state)
        self._check_config()
        self._spawn()
        self._adopt(state)
        if self.metrics_interval > 0:
            self.collector = TrafficCollector(
                self.api, self.logs, interval=self.metrics_interval, retention_hours=self.retention_hours
            )
            self.collector.start()
        self.rates = RatePublisher(self.api)  # the autoscaler's 1 s request rates
        self.rates.start()
        log.info(
            "gateway up: http %s:%s, grpc %s:%s, %d services",
            self.options.bind, self.options.http_port, self.options.bind, self.options.grpc_port, len(state.routes),
        )

    def run_forever(self) -> None:
        while not self.stopping:
            started = time.monotonic()
            try:
                self.tick()
            except Exception:  # keep serving: HAProxy runs on with its last good state
                log.exception("gateway tick failed")
                close_old_connections()
            time.sleep(max(0.0, self.tick_seconds - (time.monotonic() - started)))

    def stop(self) -> None:
        self.stopping = True
        if self.collector:
            self.collector.stop.set()
        if self.rates:
            self.rates.stop.set()
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()  # the master stops its workers
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self.logs:
            self.logs.close()

    # --- one tick --------------------------------------------------------------------------------

    def tick(self) -> None:
        state = self.reader.read()
        close_old_connections()
        if self.proc is None or self.proc.poll() is not None:
            log.error("HAProxy exited (code %s); starting it again", self.proc.returncode if self.proc else None)
            self._write_files(state)
            self._spawn()
            self._adopt(state)
            return
        if self.needs_reload or render.static_key(state, self.options) != self.static:
            self.reload(state)
            return
        try:
            self._apply_tokens(state)
            self._apply_servers(state)
        except HAProxyError as exc:
            log.warning("runtime update failed (%s); reloading from the full state", exc)
            self.needs_reload = True

    def reload(self, state: GatewayState) -> None:
        """Seamless reload with a config rendered from `state`; waits until the new worker answers."""
        self._write_files(state)
        try:
            self._check_config()
        except RuntimeError as exc:
            # Keep serving the last good config; do not retry every tick.
            log.error("%s", exc)
            self.static = render.static_key(state, self.options)
            self.needs_reload = False
            return
        old_pid = self.api.worker_pid()
        self.proc.send_signal(signal.SIGUSR2)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            pid = self.api.worker_pid()
            if pid is not None and pid != old_pid:
                break
            time.sleep(0.05)
        else:
            log.error("HAProxy did not start a new worker within 15 s of a reload")
        self._adopt(state)
        log.info("gateway reloaded: %d services", len(state.routes))

    # --- helpers ---------------------------------------------------------------------------------

    def _adopt(self, state: GatewayState) -> None:
        """HAProxy now runs a config rendered from `state`."""
        self.applied = state
        self.static = render.static_key(state, self.options)
        self.leaving = set()
        self.needs_reload = False

    def _write_files(self, state: GatewayState) -> None:
        write_private(self.options.tokens_map, render.render_tokens_map(state))
        write_private(self.options.grpc_map, render.render_grpc_map(state))
        write_private(self.options.config_file, render.render_config(state, self.options))

    def _check_config(self) -> None:
        result = subprocess.run(
            [self.haproxy, "-c", "-q", "-f", str(self.options.config_file)], capture_output=True, text=True
        )
        if result.returncode != 0:
            raise RuntimeError(f"rendered HAProxy config is invalid: {(result.stdout + result.stderr).strip()}")

    def _spawn(self) -> None:
        for path in (self.options.admin_socket, self.options.master_socket):
            if path.exists() or path.is_socket():
                path.unlink()
        self.proc = subprocess.Popen(
            [self.haproxy, "-W", "-db", "-S", f"{self.options.master_socket},mode,600", "-f", str(self.options.config_file)],
            preexec_fn=_die_with_parent,
        )
        deadline = time.monotonic() + 15
        while self.api.worker_pid() is None:
            if self.proc.poll() is not None:
                raise RuntimeError(f"HAProxy exited at start with code {self.proc.returncode}")
            if time.monotonic() > deadline:
                raise RuntimeError("HAProxy did not answer on its admin socket within 15 s")
            time.sleep(0.05)

    def _apply_tokens(self, state: GatewayState) -> None:
        if state.tokens == self.applied.tokens:
            return
        for name, token in state.tokens.items():
            if self.applied.tokens.get(name) != token:
                if render.token_storable(token):
                    self.api.set_map(self.options.tokens_map, name, token)
                else:
                    self.api.del_map(self.options.tokens_map, name)
                log.info("token of %s updated", name)  # never the token itself
        for name in set(self.applied.tokens) - set(state.tokens):
            self.api.del_map(self.options.tokens_map, name)
        write_private(self.options.tokens_map, render.render_tokens_map(state))
        self.applied.tokens = dict(state.tokens)

    def _apply_servers(self, state: GatewayState) -> None:
        for service, servers in state.servers.items():
            backend = render.backend_name(service)
            route = state.routes[service]
            applied = self.applied.servers.setdefault(service, {})
            for name, server in servers.items():
                old = applied.get(name)
                if old is None:
                    if (backend, name) in self.leaving:
                        # Came back before deletion (a restart): it is still there, in maintenance.
                        self.leaving.discard((backend, name))
                        self.api.set_server_addr(backend, name, server.address, server.port)
                    else:
                        self.api.add_server(backend, name, render.server_args(server, route))
                    if server.ready:
                        self.api.set_server_state(backend, name, "ready")
                    log.info("%s/%s (%s) added, %s", backend, name, server.instance, "ready" if server.ready else "not ready")
                else:
                    if (old.address, old.port) != (server.address, server.port):
                        self.api.set_server_addr(backend, name, server.address, server.port)
                    if old.ready != server.ready:
                        self.api.set_server_state(backend, name, "ready" if server.ready else "maint")
                        log.info("%s/%s (%s) %s", backend, name, server.instance, "ready" if server.ready else "out of traffic")
                applied[name] = server
            for name in set(applied) - set(servers):
                # Maintenance stops new requests at once; in-flight ones finish; delete when idle.
                self.api.set_server_state(backend, name, "maint")
                self.leaving.add((backend, name))
                del applied[name]
                log.info("%s/%s leaving", backend, name)
        for backend, name in sorted(self.leaving):
            if self.api.del_server(backend, name):
                self.leaving.discard((backend, name))


def options_from_settings(settings) -> render.Options:
    return render.Options(
        directory=Path(settings.BERTH_GATEWAY_DIR),
        bind=settings.BERTH_GATEWAY_BIND,
        http_port=settings.BERTH_GATEWAY_HTTP_PORT,
        grpc_port=settings.BERTH_GATEWAY_GRPC_PORT,
        max_body_bytes=settings.BERTH_GATEWAY_MAX_BODY_BYTES,
        default_timeout_ms=settings.BERTH_GATEWAY_DEFAULT_TIMEOUT_MS,
        tls_cert=settings.BERTH_GATEWAY_TLS_CERT,
        cors=settings.BERTH_GATEWAY_CORS,
        hard_stop_after=settings.BERTH_GATEWAY_HARD_STOP_AFTER,
    )
