"""Which object-store endpoints Berth may connect to: a guard against server-side request forgery.

A developer chooses an object store's endpoint, and the console and the workers then connect to it
with stored keys. Without a guard that is a way to reach the installation itself (the console,
Redis, the gateway) and the machine's loopback and link-local services (cloud metadata at
169.254.169.254), and to read which ports answer from the error messages.

Contract: `check_endpoint(url)` resolves the host and raises EndpointRefused unless every address it
resolves to is public-enough: not loopback, link-local, unspecified or multicast, and not one of the
installation's own listening addresses. `BERTH_OBJECT_STORE_ALLOW` (host, host:port or CIDR entries)
lets an administrator allow such endpoints, e.g. a MinIO on the same machine.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class EndpointRefused(ValueError):
    """The endpoint may not be used; the message says why without probing further."""


def unreachable(endpoint: str) -> str:
    """The one sentence for every network failure: refused, timed out and unresolvable read the same."""
    return f"cannot reach the object store at {endpoint}"


def _port_of(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError as exc:
        raise EndpointRefused(f"{url} has an invalid port") from exc
    return (parts.hostname or "").lower(), port or (443 if parts.scheme == "https" else 80)


def _resolve(host: str, port: int) -> set[Address]:
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        return set()
    return {ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos}


def _allowed(host: str, port: int, addresses: set[Address]) -> bool:
    """True when BERTH_OBJECT_STORE_ALLOW names this host (or host:port), or covers every address."""
    networks = []
    for entry in settings.BERTH_OBJECT_STORE_ALLOW:
        entry = entry.strip().lower()
        if entry in (host, f"{host}:{port}"):
            return True
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            continue
    return bool(addresses) and all(any(address in network for network in networks) for address in addresses)


def _own_listeners() -> set[tuple[Address | None, int]]:
    """(address, port) pairs this installation listens on; None stands for "every local address"."""
    pairs = []
    redis = urlsplit(settings.REDIS_URL)
    if redis.hostname:
        pairs.append((redis.hostname, redis.port or 6379))
    for port in (settings.BERTH_GATEWAY_HTTP_PORT, settings.BERTH_GATEWAY_GRPC_PORT):
        pairs.append((settings.BERTH_GATEWAY_BIND, port))
    console_host, _, console_port = settings.BERTH_CONSOLE_BIND.rpartition(":")
    if console_port.isdigit():
        pairs.append((console_host.strip("[]") or "0.0.0.0", int(console_port)))
    own: set[tuple[Address | None, int]] = set()
    for host, port in pairs:
        for address in _resolve(host, port):
            own.add((None if address.is_unspecified else address, port))
    return own


def _local_addresses() -> set[Address]:
    try:
        return {ipaddress.ip_address(a) for a in socket.gethostbyname_ex(socket.gethostname())[2]}
    except OSError:
        return set()


def _problem(address: Address, port: int, own: set[tuple[Address | None, int]]) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if address.is_loopback or address.is_link_local or address.is_unspecified or address.is_multicast:
        return "loopback, link-local and unspecified addresses"
    if (address, port) in own or ((None, port) in own and address in _local_addresses()):
        return "this installation's own services"
    return None


def check_endpoint(url: str, *, resolvable: bool = True) -> None:
    """Raise EndpointRefused unless Berth may connect to the object store at `url` (see the module).

    With `resolvable=False` (saving a connection) a name that does not resolve here passes: the
    workers may see other names, and they check again before every connection.
    """
    host, port = _port_of(url)
    addresses = _resolve(host, port)
    if _allowed(host, port, addresses):
        return
    if not addresses:
        if resolvable:
            raise EndpointRefused(unreachable(url))
        return
    own = _own_listeners()
    for address in addresses:
        problem = _problem(address, port, own)
        if problem:
            raise EndpointRefused(
                f"{url} is not allowed: object stores may not be at {problem} "
                "(an administrator can allow it with BERTH_OBJECT_STORE_ALLOW)"
            )
