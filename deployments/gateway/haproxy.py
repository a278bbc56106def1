"""HAProxy's runtime API over its UNIX sockets: the worker's admin socket and the master's."""

from __future__ import annotations

import csv
import io
import socket
from pathlib import Path


class HAProxyError(Exception):
    """A runtime command HAProxy refused or a socket that did not answer."""


def cli_escape(value: str) -> str:
    """The CLI splits on spaces and ';' (between commands); a backslash escapes both."""
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(" ", "\\ ")


def _send(path: Path, command: str, timeout: float) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except OSError as exc:
            raise HAProxyError(f"{path.name}: {command.split()[0]}: {exc}") from exc
    return b"".join(chunks).decode(errors="replace")


class RuntimeAPI:
    def __init__(self, admin_socket: Path, master_socket: Path, timeout: float = 3.0):
        self.admin_socket = admin_socket
        self.master_socket = master_socket
        self.timeout = timeout

    def run(self, command: str) -> str:
        """One command on the current worker's admin socket (non-interactive: one connection each)."""
        return _send(self.admin_socket, command, self.timeout)

    def check(self, command: str, *, ok: tuple[str, ...] = ("",)) -> str:
        """Run a command whose success answer starts with one of `ok`; raise with HAProxy's words otherwise."""
        answer = self.run(command).strip()
        if not any(answer.startswith(prefix) for prefix in ok):
            raise HAProxyError(f"{command.split(' ', 2)[:2]}: {answer.splitlines()[0] if answer else 'no answer'}")
        return answer

    def master(self, command: str) -> str:
        return _send(self.master_socket, command, self.timeout)

    def info(self) -> dict[str, str]:
        info = {}
        for line in self.run("show info").splitlines():
            key, sep, value = line.partition(":")
            if sep:
                info[key.strip()] = value.strip()
        return info

    def worker_pid(self) -> int | None:
        try:
            return int(self.info().get("Pid", 0)) or None
        except HAProxyError:
            return None

    def show_stat(self) -> list[dict[str, str]]:
        """`show stat` as dicts keyed by the CSV header (pxname, svname, scur, hrsp_2xx, ...)."""
        text = self.run("show stat")
        if not text.startswith("# "):
            raise HAProxyError(f"show stat: {text[:200]!r}")
        return list(csv.DictReader(io.StringIO(text[2:])))

    # --- servers -------------------------------------------------------------------------------

    def add_server(self, backend: str, server: str, args: str) -> None:
        self.check(f"add server {backend}/{server} {args}", ok=("New server registered",))

    def set_server_addr(self, backend: str, server: str, address: str, port: int) -> None:
        self.check(
            f"set server {backend}/{server} addr {address} port {port}",
            ok=("IP changed", "no need to change", "port changed", ""),
        )

    def set_server_state(self, backend: str, server: str, state: str) -> None:
        self.check(f"set server {backend}/{server} state {state}")

    def del_server(self, backend: str, server: str) -> bool:
        """False while the server still has connections (try again later)."""
        answer = self.run(f"del server {backend}/{server}").strip()
        if answer.startswith("Server deleted"):
            return True
        if "No such server" in answer:
            return True
        if "active" in answer or "idle" in answer or "connection" in answer or "queue" in answer:
            return False
        raise HAProxyError(f"del server {backend}/{server}: {answer}")

    # --- maps ----------------------------------------------------------------------------------

    def set_map(self, path: Path, key: str, value: str) -> None:
        answer = self.run(f"set map {path} {cli_escape(key)} {cli_escape(value)}").strip()
        if answer:  # "entry not found": add it
            self.check(f"add map {path} {cli_escape(key)} {cli_escape(value)}")

    def del_map(self, path: Path, key: str) -> None:
        self.run(f"del map {path} {cli_escape(key)}")
