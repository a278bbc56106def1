"""haproxy.cfg and its map files, rendered from a GatewayState. Pure functions: no I/O.

Request path through the config:

1. frontend `http`: `/api/predict/<service>/<rest>` → txn.svc; the prefix is stripped
   (method, query and body kept); the request goes to backend `s_<service>`, or to
   `berth_unknown` (404) when no such backend exists.
   frontend `grpc` (h2c): the first label of `:authority` → the service through grpc.map.
2. backend `s_<service>`: the token check (plain, Bearer, or the EAS HMAC signature,
   verified in HAProxy with the token from tokens.map as the key), then 503 when no
   instance is ready, the rate and concurrency limits, then a ready instance.

Tokens live only in tokens.map (updated at runtime with `set map`), never in the
config text and never in the log format.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from deployments.gateway.state import GatewayState, Route, Server

# Latency figures come from one log line per request, parsed by the controller. Under heavy load that
# costs HAProxy a send and the controller a parse per request (measured: 70 % of a minimal HAProxy's
# throughput, 91 % with this sampling), so above LOG_FULL_RATE requests/s on a frontend only one request in
# LOG_SAMPLE_EVERY is logged: the percentiles stay representative; counts come from `show stat`.
LOG_FULL_RATE = 500
LOG_SAMPLE_EVERY = 64
LOG_SAMPLING = (
    f"    http-request set-log-level silent if {{ fe_req_rate gt {LOG_FULL_RATE} }} "
    f"{{ rand({LOG_SAMPLE_EVERY}) gt 0 }}"
)

# The log line the controller's metrics reader parses: backend, server, status, active time (ms),
# bytes out, bytes in. No URL, no header: tokens (and query strings) never reach a log.
LOG_FORMAT = "%b %s %ST %Ta %B %U"

UNKNOWN_BACKEND = "berth_unknown"
BACKEND_PREFIX = "s_"


@dataclass(frozen=True)
class Options:
    """Installation-wide settings (from console/settings.py) and the files the config names."""

    directory: Path
    bind: str = "127.0.0.1"
    http_port: int = 9000
    grpc_port: int = 9001
    max_body_bytes: int = 100 * 1024 * 1024
    default_timeout_ms: int = 600_000
    tls_cert: str = ""
    cors: bool = True
    hard_stop_after: str = "15m"

    @property
    def admin_socket(self) -> Path:
        return self.directory / "admin.sock"

    @property
    def master_socket(self) -> Path:
        return self.directory / "master.sock"

    @property
    def log_socket(self) -> Path:
        return self.directory / "log.sock"

    @property
    def config_file(self) -> Path:
        return self.directory / "haproxy.cfg"

    @property
    def tokens_map(self) -> Path:
        return self.directory / "tokens.map"

    @property
    def grpc_map(self) -> Path:
        return self.directory / "grpc.map"


def backend_name(service: str) -> str:
    return BACKEND_PREFIX + service


# The string EAS SDKs sign, up to the canonical resource. The SDKs always send and sign POST; signing the
# request's own method means a captured signature cannot be replayed with another method.
_SIGNED = r"%[method]\n%[req.fhdr(content-md5)]\n%[req.fhdr(content-type)]\n%[req.fhdr(date)]\n"

# Every 401, and the answer for a service name that does not exist: the same body, so names cannot be probed.
UNAUTHORIZED = "unauthorized: send Authorization: <token>, Bearer <token> or an EAS signature"


def _json(code: int, message: str) -> str:
    """A JSON body for `string '...'`: single quotes cannot appear inside."""
    return json.dumps({"code": code, "message": message}).replace("'", "’")


def _return(code: int, message: str, condition: str = "") -> str:
    rule = f"http-request return status {code} content-type application/json string '{_json(code, message)}'"
    return f"{rule} {condition}".rstrip()


def _error(code: int, message: str) -> str:
    return f"http-error status {code} content-type application/json string '{_json(code, message)}'"


def render_config(state: GatewayState, options: Options) -> str:
    o = options
    ssl = f" ssl crt {o.tls_cert} alpn h2,http/1.1" if o.tls_cert else ""
    grpc_ssl = f" ssl crt {o.tls_cert} alpn h2" if o.tls_cert else ""
    lines = [
        "# Rendered by `manage.py gateway` from Berth's database. Do not edit: it is rewritten on change.",
        "global",
        f"    stats socket {o.admin_socket} mode 600 level admin expose-fd listeners",
        "    stats timeout 1m",
        f"    log {o.log_socket} len 512 format raw local0",
        f"    hard-stop-after {o.hard_stop_after}",
        "    tune.ssl.default-dh-param 2048",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option dontlognull",
        f'    log-format "{LOG_FORMAT}"',
        "    timeout connect 3s",
        "    timeout client 120s",
        "    timeout http-request 30s",
        "    timeout http-keep-alive 60s",
        "    timeout queue 30s",
        f"    timeout server {o.default_timeout_ms}ms",
        "    timeout tunnel 1h",
        # An instance that just left (or died) refuses the connection or closes it unanswered: the
        # request is replayed on another instance, so membership changes never fail requests.
        "    retries 3",
        "    option redispatch 1",
        "    retry-on conn-failure empty-response",
        "    " + _error(503, "no healthy upstream"),
        "    " + _error(502, "bad gateway: the instance closed the connection or sent an invalid response"),
        "    " + _error(504, "gateway timeout: the instance did not answer in time"),
        "    " + _error(408, "request timeout: the request was not received in time"),
        "",
        "frontend http",
        f"    bind {o.bind}:{o.http_port}{ssl}",
        "    option forwardfor",
        LOG_SAMPLING,
        "    http-request set-var(txn.svc) path,field(4,/) if { path_beg /api/predict/ }",
    ]
    if o.cors:
        lines += [
            # Browsers (the console's "try it" panel) preflight requests that carry Authorization.
            '    http-request return status 204 hdr Access-Control-Allow-Origin "%[req.hdr(origin)]"'
            ' hdr Access-Control-Allow-Methods "GET, POST, PUT, PATCH, DELETE, OPTIONS"'
            ' hdr Access-Control-Allow-Headers "%[req.fhdr(access-control-request-headers)]"'
            " hdr Access-Control-Max-Age 600"
            " if METH_OPTIONS { req.hdr(origin) -m found } { req.hdr(access-control-request-method) -m found }",
            "    http-request set-var(txn.origin) req.hdr(origin)",
            "    http-after-response set-header Access-Control-Allow-Origin * "
            "if { var(txn.origin) -m found } !{ res.hdr(access-control-allow-origin) -m found }",
        ]
    lines += [
        "    " + _return(404, "not found: call /api/predict/<service>/<path>", "unless { var(txn.svc) -m found }"),
        "    " + _return(413, f"request body larger than {o.max_body_bytes} bytes",
                        f"if {{ req.hdr_val(content-length) gt {o.max_body_bytes} }}"),
        "    http-request set-var(txn.path) path",
        "    http-request set-var(txn.query) query",
        r"    http-request replace-path ^/api/predict/[^/]*/?(.*)$ /\1",
        f"    use_backend {BACKEND_PREFIX}%[var(txn.svc)]",
        f"    default_backend {UNKNOWN_BACKEND}",
        "",
        "frontend grpc",
        f"    bind {o.bind}:{o.grpc_port} proto h2{grpc_ssl}",
        LOG_SAMPLING,
        # <service>.<domain>: the first label, with "-" standing for "_" (DNS labels have no "_").
        f"    http-request set-var(txn.svc) req.hdr(host),field(1,.),lower,map({o.grpc_map})",
        f"    use_backend {BACKEND_PREFIX}%[var(txn.svc)]",
        f"    default_backend {UNKNOWN_BACKEND}",
        "",
        f"backend {UNKNOWN_BACKEND}",
        # Not 404: an unknown name answers exactly like a known one with a wrong token.
        "    " + _return(401, UNAUTHORIZED),
    ]
    for name in sorted(state.routes):
        lines += [""] + render_backend(state.routes[name], state.servers.get(name, {}), options)
    return "\n".join(lines) + "\n"


def render_backend(route: Route, servers: dict[str, Server], options: Options) -> list[str]:
    name = route.name
    lines = [
        f"backend {backend_name(name)}",
        "    balance roundrobin",
        f"    timeout server {route.timeout_ms}ms",
        "    " + _error(504, f"request timeout: {name} did not answer within {route.timeout_ms} ms (metadata.rpc.keepalive)"),
        # Tokens: "<token>", "Bearer <token>", or "EAS <base64 hmac-sha1>" keyed by the token.
        f"    http-request set-var(txn.tok) str({name}),map({options.tokens_map})",
        '    http-request set-var(txn.cred) req.fhdr(authorization),regsub("^[Bb][Ee][Aa][Rr][Ee][Rr] +","")',
        "    acl token_ok var(txn.cred),secure_memcmp(txn.tok)",
        '    acl eas req.fhdr(authorization) -m beg "EAS "',
        # The signature covers the request's own header values (no clock-skew check, as EAS's SDKs
        # disagree on time zones) and one of the canonical resources the official SDKs sign:
        # /api/predict/<svc> (Python), the full path (Go), the path with its query (Java).
        "    http-request set-var(txn.key) var(txn.tok),base64 if eas",
        '    http-request set-var(txn.sig) req.fhdr(authorization),regsub("^EAS +","") if eas',
        f'    http-request set-var-fmt(txn.m1) "{_SIGNED}/api/predict/{name}" if eas',
        "    http-request set-var(txn.s1) var(txn.m1),hmac(sha1,txn.key),base64 if eas",
        f'    http-request set-var-fmt(txn.m2) "{_SIGNED}%[var(txn.path)]" if eas',
        "    http-request set-var(txn.s2) var(txn.m2),hmac(sha1,txn.key),base64 if eas",
        f'    http-request set-var-fmt(txn.m3) "{_SIGNED}%[var(txn.path)]?%[var(txn.query)]" if eas {{ var(txn.query) -m found }}',
        "    http-request set-var(txn.s3) var(txn.m3),hmac(sha1,txn.key),base64 if eas { var(txn.query) -m found }",
        "    acl sig_ok var(txn.sig),secure_memcmp(txn.s1)",
        "    acl sig_ok var(txn.sig),secure_memcmp(txn.s2)",
        "    acl sig_ok var(txn.sig),secure_memcmp(txn.s3)",
        # The signature covers Content-MD5, so the body must match it: wait for the body (up to the buffer)
        # and compare. A body whose length is known and wholly buffered must match; a larger one cannot be
        # checked here (docs/gateway.md says what that allows); a chunked one must match what was buffered.
        "    http-request wait-for-body time 10s if eas",
        '    http-request set-var(txn.bmd5) req.body,digest(md5),hex,lower,regsub("^0+","") if eas',
        '    http-request set-var(txn.hmd5) req.fhdr(content-md5),lower,regsub("^0+","") if eas',
        "    http-request set-var(txn.blen) req.body_len if eas",
        "    http-request set-var(txn.clen) req.hdr_val(content-length) if eas { req.hdr(content-length) -m found }",
        "    acl md5_ok var(txn.bmd5),strcmp(txn.hmd5) eq 0",
        "    acl body_partial var(txn.blen),sub(txn.clen) lt 0",
        "    acl chunked req.hdr(transfer-encoding) -m found",
        "    " + _return(401, UNAUTHORIZED, "unless token_ok || sig_ok md5_ok || sig_ok body_partial !chunked"),
        "    " + _return(503, "no healthy upstream", "if { nbsrv() eq 0 }"),
    ]
    if route.rate_limit:
        lines += [
            "    stick-table type integer size 1 expire 10s store http_req_rate(1s)",
            "    http-request track-sc0 int(1)",
            "    " + _return(429, f"too many requests: {name} accepts {route.rate_limit} per second "
                                 "(networking.gateway_policy.rate_limit)",
                            f"if {{ sc_http_req_rate(0) gt {route.rate_limit} }}"),
        ]
    if route.concurrency_limit:
        lines.append(
            "    " + _return(429, f"too many requests: {name} accepts {route.concurrency_limit} at a time "
                                 "(networking.gateway_policy.concurrency_limit)",
                            f"if {{ be_conn() gt {route.concurrency_limit} }}")
        )
    for server in sorted(servers.values(), key=lambda s: s.name):
        lines.append("    " + server_line(server, route))
    return lines


def server_args(server: Server, route: Route) -> str:
    """Arguments after the server name: shared by the config file and `add server`."""
    args = f"{server.address}:{server.port}"
    if route.grpc:
        args += " proto h2"
    return args


def server_line(server: Server, route: Route) -> str:
    return f"server {server.name} {server_args(server, route)}" + ("" if server.ready else " disabled")


def render_tokens_map(state: GatewayState) -> str:
    """`<service> <token>` lines; a token HAProxy cannot hold (whitespace) is left out: 401 until fixed."""
    return "".join(f"{name} {token}\n" for name, token in sorted(state.tokens.items()) if token_storable(token))


def token_storable(token: str) -> bool:
    return bool(token) and not any(c.isspace() for c in token)


def render_grpc_map(state: GatewayState) -> str:
    """Host-name label → service, for gRPC services: both the name and its DNS form (`_` → `-`)."""
    lines = []
    for name, route in sorted(state.routes.items()):
        if route.grpc:
            lines.append(f"{name} {name}\n")
            if "_" in name:
                lines.append(f"{name.replace('_', '-')} {name}\n")
    return "".join(lines)


def static_key(state: GatewayState, options: Options) -> tuple:
    """What only a reload can change: the routes and the installation settings (not servers, not tokens)."""
    return (tuple(sorted(state.routes.items())), options)
