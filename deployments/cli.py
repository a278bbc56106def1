"""berth: the command-line client of a Berth console, modelled on Alibaba Cloud PAI-EAS's `eascmd`.

Standard library only and no Django imports, so the file runs on a laptop with just
Python (3.10+): `python -m deployments.cli ...`, or copy it anywhere and run it.
It talks to the console's REST API (/api/v1/) with an API key.

Settings come from, highest first: --endpoint / --api-key, the environment
(BERTH_ENDPOINT, BERTH_API_KEY), then a profile of ~/.berth/config (`-c NAME`,
default "default"). Exit codes: 0 done, 1 failed (the server said no, a deploy
failed, a timeout), 2 bad usage, 130 interrupted.
"""

from __future__ import annotations

import argparse
import configparser
import http.client
import json
import os
import socket
import sys
import textwrap
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime
from pathlib import Path

VERSION = "0.1.0"
DEFAULT_PROFILE = "default"
DEFAULT_WAIT = 600
POLL_INTERVAL = 0.5
REQUEST_TIMEOUT = 30
FAILURE_LOG_LINES = 20
# Polling survives a short outage of the console (a restart) but not a long one.
POLL_ERRORS_TOLERATED = 10
RUNNING = "[OK] Service is running"

# Statuses after which nothing runs, so there is no rollout to watch.
IDLE_STATUSES = {"NotDeployed", "Stopped", "Stopping"}


class CliError(Exception):
    """A failure explained in one line; main() prints it on stderr and exits with `code`."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


class ConfigRejected(CliError):
    """The server refused a config (HTTP 400): every error carries the path of the key at fault."""

    def __init__(self, errors: list[dict], warnings: list[dict]):
        super().__init__("the service config is invalid")
        self.errors = errors
        self.warnings = warnings


class ApiNotFound(CliError):
    pass


# --- settings --------------------------------------------------------------------------------


def config_path() -> Path:
    # expanduser reads $HOME, so tests (and people) can point it elsewhere.
    return Path(os.path.expanduser("~")) / ".berth" / "config"


def read_profiles() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    path = config_path()
    try:
        parser.read(path, encoding="utf-8")
    except configparser.MissingSectionHeaderError as exc:
        raise CliError(f"cannot read {path}: line {exc.lineno} comes before any [profile] header")
    except configparser.ParsingError as exc:
        raise CliError(f"cannot read {path}: line {exc.errors[0][0]} is not `key = value`")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise CliError(f"cannot read {path}: {' '.join(str(exc).split())}")
    return parser


def write_profile(profile: str, values: dict[str, str]) -> Path:
    """Update one profile of ~/.berth/config, keeping the others; the file is private (0600)."""
    parser = read_profiles()
    if not parser.has_section(profile):
        parser.add_section(profile)
    for key, value in values.items():
        parser.set(profile, key, value)
    path = config_path()
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    # Write a new file created 0600 and move it over the old one, so the key is never world-readable.
    tmp = path.with_name(f".config.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        parser.write(handle)
    os.chmod(tmp, 0o600)
    os.replace(tmp, path)
    return path


def check_endpoint(endpoint: str) -> str:
    endpoint = endpoint.strip().rstrip("/")
    parsed = urllib.parse.urlparse(endpoint)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise CliError(f"the endpoint {endpoint!r} must be a URL like http://berth.example.com:8000")
    return endpoint


class Settings:
    """The effective endpoint and API key, with where each came from (for `berth config`)."""

    def __init__(self, args: argparse.Namespace):
        self.profile = args.profile or os.environ.get("BERTH_PROFILE") or DEFAULT_PROFILE
        parser = read_profiles()
        section = parser[self.profile] if parser.has_section(self.profile) else {}
        self.endpoint, self.endpoint_source = self._pick(
            args.endpoint, "BERTH_ENDPOINT", section.get("endpoint", ""), "--endpoint"
        )
        self.api_key, self.api_key_source = self._pick(
            args.api_key, "BERTH_API_KEY", section.get("api_key", ""), "--api-key"
        )

    def _pick(self, flag: str | None, env: str, stored: str, flag_name: str) -> tuple[str, str]:
        if flag:
            return flag, flag_name
        if os.environ.get(env):
            return os.environ[env], env
        if stored:
            return stored, f"profile {self.profile!r} in {config_path()}"
        return "", ""

    def client(self) -> Client:
        hint = f"run `berth{'' if self.profile == DEFAULT_PROFILE else ' -c ' + self.profile} config -e URL -k KEY`"
        if not self.endpoint:
            raise CliError(f"no endpoint configured: {hint} or set BERTH_ENDPOINT")
        if not self.api_key:
            raise CliError(f"no API key configured: {hint} or set BERTH_API_KEY")
        return Client(check_endpoint(self.endpoint), self.api_key.strip())


# --- HTTP ------------------------------------------------------------------------------------


class Client:
    """A thin JSON client of /api/v1/ that turns every failure into a CliError."""

    def __init__(self, endpoint: str, api_key: str):
        self.endpoint = endpoint
        self.base = endpoint if endpoint.endswith("/api/v1") else endpoint + "/api/v1"
        self.api_key = api_key

    def url(self, path: str, query: dict | None = None) -> str:
        url = self.base + path
        query = {k: v for k, v in (query or {}).items() if v not in (None, "")}
        return url + ("?" + urllib.parse.urlencode(query) if query else "")

    def open(self, method: str, path: str, *, query: dict | None = None, body: object = None, timeout=REQUEST_TIMEOUT):
        """The raw response (for streaming); raises CliError for HTTP errors and network failures."""
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Accept": "application/json",
            "User-Agent": f"berth-cli/{VERSION}",
        }
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url(path, query), data=data, method=method, headers=headers)
        try:
            return urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            raise self._http_error(exc.code, exc.read(), method, path) from None
        except urllib.error.URLError as exc:
            reason = exc.reason.strerror if isinstance(exc.reason, OSError) and exc.reason.strerror else exc.reason
            raise CliError(f"cannot reach {self.endpoint}: {reason} (check `berth config` or BERTH_ENDPOINT)") from None
        except (TimeoutError, socket.timeout):
            raise CliError(f"{self.endpoint} did not answer within {timeout}s") from None
        except (http.client.HTTPException, ConnectionError) as exc:
            raise CliError(f"the connection to {self.endpoint} failed: {exc or type(exc).__name__}") from None

    def call(self, method: str, path: str, *, query: dict | None = None, body: object = None) -> tuple[int, object]:
        """(status, parsed JSON body or None for an empty body)."""
        with self.open(method, path, query=query, body=body) as response:
            try:
                raw = response.read()
            except (TimeoutError, socket.timeout, http.client.HTTPException, ConnectionError) as exc:
                raise CliError(f"the connection to {self.endpoint} broke: {exc or type(exc).__name__}") from None
            status = response.status
            content_type = response.headers.get("Content-Type", "")
        if not raw:
            return status, None
        if "json" not in content_type:
            return status, raw.decode("utf-8", "replace")
        try:
            return status, json.loads(raw)
        except ValueError:
            raise CliError(f"{self.endpoint} answered with malformed JSON: is it a Berth console?") from None

    def get(self, path: str, **query):
        return self.call("GET", path, query=query)[1]

    def post(self, path: str, body: object = None, **query):
        return self.call("POST", path, query=query, body=body)[1]

    def _http_error(self, code: int, raw: bytes, method: str, path: str) -> CliError:
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            body = {}
        detail = body.get("detail") if isinstance(body.get("detail"), str) else ""
        if code == 400 and isinstance(body.get("errors"), list):
            return ConfigRejected(body["errors"], body.get("warnings") or [])
        if code == 401 or (code == 403 and "credentials were not provided" in detail):
            return CliError(f"the API key was refused ({detail or 'HTTP 401'}): check `berth config` or BERTH_API_KEY")
        if code == 404:
            if detail and detail != "not found":
                return ApiNotFound(detail)
            return ApiNotFound(f"{self.url(path)} was not found (HTTP 404): is {self.endpoint} a Berth console?")
        if detail:
            return CliError(detail)
        if code >= 500:
            return CliError(f"the server failed (HTTP {code} on {method} {path}); see the console's logs")
        return CliError(f"HTTP {code} on {method} {path}")


def service_path(name: str, *rest: str) -> str:
    return "/".join(["/services", urllib.parse.quote(name, safe=""), *rest])


# --- input -----------------------------------------------------------------------------------


def read_json_object(filename: str) -> dict:
    """A JSON object from a file ('-' is stdin), with the line and column of a syntax error."""
    label = "<stdin>" if filename == "-" else filename
    try:
        text = sys.stdin.read() if filename == "-" else Path(filename).read_text(encoding="utf-8")
    except OSError as exc:
        raise CliError(f"cannot read {label}: {exc.strerror or exc}")
    except UnicodeDecodeError:
        raise CliError(f"{label} is not UTF-8 text")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CliError(f"{label}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}")
    if not isinstance(value, dict):
        raise CliError(f"{label}: a service config must be a JSON object, not {type(value).__name__}")
    return value


def parse_define(item: str) -> tuple[str, object]:
    """`-Dmetadata.instance=4`: the value is JSON when it parses (4, true, [..]), else a string."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise CliError(f"-D{item}: write -DKEY=VALUE, e.g. -Dmetadata.instance=4", code=2)
    try:
        # NaN and Infinity parse in Python but are not JSON: keep them as the strings typed.
        value = json.loads(raw, parse_constant=_not_json)
    except ValueError:
        value = raw
    return key.strip(), value


def _not_json(constant: str):
    raise ValueError(constant)


# --- output ----------------------------------------------------------------------------------


def say(line: str = "") -> None:
    print(line, flush=True)


def warn(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def print_json(value: object) -> None:
    say(json.dumps(value, indent=2, ensure_ascii=False))


def print_warnings(body: object) -> None:
    if isinstance(body, dict):
        for item in body.get("warnings") or []:
            warn(f"[WARN] {item.get('path') or '(config)'}: {item.get('message')}")


def when(value: str | None) -> str:
    """An API timestamp in local time, as eascmd shows it (2026-03-11 14:02:07)."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S")


def box(rows: list[list[str]], header: list[str] | None = None, right: set[int] = frozenset()) -> str:
    """An eascmd-style box table. Cells may hold several lines; columns in `right` align right."""
    split = [[str(cell).splitlines() or [""] for cell in row] for row in rows]
    columns = len(header) if header else max((len(r) for r in rows), default=0)
    widths = [0] * columns
    for row in ([[[h] for h in header]] if header else []) + split:
        for i, lines in enumerate(row):
            widths[i] = max(widths[i], *(len(line) for line in lines))
    rule = "+" + "+".join("-" * (w + 2) for w in widths) + "+"

    def line(cells: list[str]) -> str:
        padded = [c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)]
        return "| " + " | ".join(padded) + " |"

    out = [rule]
    if header:
        out += [line(header), rule]
    for row in split:
        height = max(len(lines) for lines in row)
        for n in range(height):
            out.append(line([lines[n] if n < len(lines) else "" for lines in row]))
    out.append(rule)
    return "\n".join(out)


def columns(rows: list[list[str]], header: list[str]) -> str:
    """A plain aligned table (kubectl-style) for free-text last columns."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header) - 1)]
    out = []
    for row in [header, *rows]:
        out.append("  ".join([str(c).ljust(widths[i]) for i, c in enumerate(row[:-1])] + [str(row[-1])]).rstrip())
    return "\n".join(out)


def endpoint_table(detail: dict) -> str:
    endpoints = detail.get("endpoints") or {}
    rows = [["Internet Endpoint", endpoints.get("internet", "")], ["Intranet Endpoint", endpoints.get("intranet", "")]]
    if endpoints.get("grpc"):
        rows.append(["gRPC Endpoint", endpoints["grpc"]])
    if detail.get("token"):
        rows.append(["Token", detail["token"]])
    return box(rows, right={0})


def wrap(text: str, width: int = 100) -> str:
    return "\n".join(textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False)) or text


def host_names(instances: list[dict]) -> str:
    names = sorted({i["host"] for i in instances if i.get("host")})
    return ",".join(names) or "local"


def compact(value: object) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# --- waiting for a rollout -------------------------------------------------------------------


def progress_line(detail: dict) -> str | None:
    status = detail.get("status")
    if status in IDLE_STATUSES or status in ("Deleting", "Failed"):
        return None
    counts = detail.get("counts") or {}
    if status == "Running" and not counts.get("pending"):
        return None  # e.g. a restart not yet picked up: nothing worth a line
    label = status if status in ("Updating", "Scaling") else "Waiting"
    return (
        f"[OK] {label} [Total: {counts.get('total', 0)}, Pending: {counts.get('pending', 0)}, "
        f"Running: {counts.get('running', 0)}]"
    )


def outcome(detail: dict, want: str) -> tuple[bool, str | None]:
    """(finished, failure reason). `want` is the service status that means success."""
    deployment = detail.get("deployment") or {}
    dep_status = deployment.get("status")
    if dep_status == "failed":
        return True, deployment.get("message") or detail.get("message") or "the deployment failed"
    if detail.get("status") == "Failed" and want != "Failed":
        return True, detail.get("message") or deployment.get("message") or "the service failed"
    if detail.get("status") != want:
        return False, None
    # Running is only the end once the deployment that was asked for finished (a restart keeps Running).
    if want == "Running" and dep_status in ("queued", "running"):
        return False, None
    return True, None


def wait_for(client: Client, name: str, first: dict, *, want: str, timeout: float, done: str) -> int:
    """Poll the service until its status is `want` and its latest deployment finished, printing a
    progress line each time it changes. Returns the exit code; prints the reason and the last
    log lines on failure."""
    deadline = time.monotonic() + timeout
    detail, last, errors = first, None, 0
    while True:
        finished, failure = outcome(detail, want)
        if finished:
            if failure:
                return report_failure(client, name, detail, failure)
            say(done)
            return 0
        line = progress_line(detail)
        if line and line != last:
            say(line)
            last = line
        if time.monotonic() > deadline:
            raise CliError(
                f"timed out after {timeout:g}s waiting for {name} (now {detail.get('status')}); "
                f"it goes on on the server: see `berth desc {name}`"
            )
        time.sleep(POLL_INTERVAL)
        try:
            detail = client.get(service_path(name))
            errors = 0
        except ApiNotFound:
            raise CliError(f"service {name} was deleted while waiting for it")
        except CliError:
            errors += 1
            if errors > POLL_ERRORS_TOLERATED:
                raise


def wait_gone(client: Client, name: str, *, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while True:
        try:
            detail = client.get(service_path(name))
        except ApiNotFound:
            say("[OK] Service was deleted successfully")
            return 0
        if detail.get("status") not in ("Deleting",):
            status, message = detail.get("status"), detail.get("message") or "no message"
            raise CliError(f"deleting {name} stopped: it is {status}: {message}")
        if time.monotonic() > deadline:
            raise CliError(f"timed out after {timeout:g}s waiting for {name} to be deleted; see `berth desc {name}`")
        time.sleep(POLL_INTERVAL)


def report_failure(client: Client, name: str, detail: dict, reason: str) -> int:
    warn(f"[FAILED] {reason}")
    try:
        instances = client.get(service_path(name, "instances")).get("results", [])
    except CliError:
        instances = []
    # The instances of the version that failed, the unready ones first.
    version = detail.get("latest_version")
    candidates = sorted((i for i in instances if i.get("version") == version), key=lambda i: bool(i.get("ready")))
    for instance in candidates[:1]:
        try:
            _, text = client.call(
                "GET", service_path(name, "logs"), query={"instance": instance["name"], "tail": FAILURE_LOG_LINES}
            )
        except CliError:
            continue
        lines = str(text or "").rstrip("\n").splitlines()[-FAILURE_LOG_LINES:]
        if lines:
            warn(f"Last {len(lines)} log lines of {instance['name']}:")
            for line in lines:
                warn(f"  {line}")
    return 1


# --- commands --------------------------------------------------------------------------------


def cmd_config(args, settings: Settings) -> int:
    if args.set_endpoint is None and args.set_api_key is None:
        if args.json:
            print_json({
                "profile": settings.profile,
                "file": str(config_path()),
                "endpoint": settings.endpoint,
                "endpoint_source": settings.endpoint_source,
                "api_key_set": bool(settings.api_key),
                "api_key_source": settings.api_key_source,
            })
            return 0
        key = settings.api_key
        # The prefix the API keys page shows (berth_ + 6), never the whole key.
        shown = (key[:12] + "…") if len(key) > 12 else ("set" if key else "")
        endpoint = f"{settings.endpoint}  [{settings.endpoint_source}]" if settings.endpoint else "(not set)"
        api_key = f"{shown}  [{settings.api_key_source}]" if key else "(not set)"
        rows = [["Profile", settings.profile], ["ConfigFile", str(config_path())],
                ["Endpoint", endpoint], ["ApiKey", api_key]]
        say(box(rows, right={0}))
        return 0
    values = {}
    if args.set_endpoint is not None:
        values["endpoint"] = check_endpoint(args.set_endpoint)
    if args.set_api_key is not None:
        if not args.set_api_key.strip():
            raise CliError("the API key is empty")
        values["api_key"] = args.set_api_key.strip()
    path = write_profile(settings.profile, values)
    say(f"[OK] Saved profile {settings.profile!r} in {path}")
    return 0


def cmd_validate(args, client: Client) -> int:
    config = read_json_object(args.file)
    try:
        body = client.post("/services/validate", config)
    except ConfigRejected as exc:
        if args.json:
            print_json({"errors": exc.errors, "warnings": exc.warnings})
            return 1
        raise
    if args.json:
        print_json(body)
        return 0
    print_warnings(body)
    say(f"[OK] {args.file} is a valid service config")
    return 0


def cmd_create(args, client: Client) -> int:
    config = read_json_object(args.file)
    detail = client.post("/services", config, workspace=args.workspace)
    print_warnings(detail)
    say(endpoint_table(detail))
    say("[OK] Service is now creating")
    if args.no_wait:
        return 0
    return wait_for(client, detail["name"], detail, want="Running", timeout=args.timeout, done=RUNNING)


def cmd_modify(args, client: Client) -> int:
    patch: dict = {}
    if args.file:
        patch.update(read_json_object(args.file))
    for item in args.define or []:
        key, value = parse_define(item)
        patch[key] = value
    if not patch:
        raise CliError("nothing to change: give -s partial.json and/or -DKEY=VALUE", code=2)
    before = client.get(service_path(args.name))
    detail = client.call("PATCH", service_path(args.name), body=patch)[1]
    print_warnings(detail)
    old_id = (before.get("deployment") or {}).get("id")
    new_id = (detail.get("deployment") or {}).get("id")
    if new_id is None or new_id == old_id:
        # Nothing to roll out: no change that touches instances, or nothing runs.
        if detail.get("status") in IDLE_STATUSES:
            say(f"[OK] Service config was updated; the service is {detail['status']}, so it applies at the next start")
        else:
            say("[OK] Service config was updated; nothing to roll out")
        return 0
    if detail.get("new_version"):
        say(f"[OK] Service is now updating to version {detail.get('current_version')}")
    else:
        say(f"[OK] Service is now scaling to {detail.get('instance')} instances")
    if args.no_wait:
        return 0
    return wait_for(client, args.name, detail, want="Running", timeout=args.timeout, done=RUNNING)


def cmd_lifecycle(args, client: Client) -> int:
    """stop, start, restart."""
    detail = client.post(service_path(args.name, args.command))
    verb = {"stop": "stopping", "start": "starting", "restart": "restarting"}[args.command]
    say(f"[OK] Service is {verb}")
    if args.no_wait:
        return 0
    if args.command == "stop":
        return wait_for(client, args.name, detail, want="Stopped", timeout=args.timeout, done="[OK] Service is stopped")
    return wait_for(client, args.name, detail, want="Running", timeout=args.timeout, done=RUNNING)


def cmd_delete(args, client: Client) -> int:
    client.get(service_path(args.name))  # a typo fails here, before the question
    if not args.yes:
        sys.stdout.write(f"Are you sure to delete the service [{args.name}]? [Y/n] ")
        sys.stdout.flush()
        answer = sys.stdin.readline()
        if not answer:
            say("")
            raise CliError("no answer on stdin; pass -y to delete without asking")
        if answer.strip().lower() not in ("", "y", "yes"):
            raise CliError("not deleted")
    status, _ = client.call("DELETE", service_path(args.name))
    say("[OK] Service is terminating")
    if status == 204:
        say("[OK] Service was deleted successfully")
        return 0
    if args.no_wait:
        return 0
    return wait_gone(client, args.name, timeout=args.timeout)


def cmd_version(args, client: Client) -> int:
    if args.number is None:
        body = client.get(service_path(args.name, "versions"))
        if args.json:
            print_json(body)
            return 0
        rows = []
        for v in body.get("results", []):
            images = ",".join(c.get("image", "") for c in (v.get("config") or {}).get("containers") or [])
            rows.append([str(v["number"]), "*" if v.get("current") else "", when(v.get("created_at")),
                         v.get("created_by") or "", images])
        say(box(rows, ["VERSION", "CURRENT", "CREATETIME", "CREATEDBY", "IMAGE"], right={0}))
        return 0
    detail = client.post(service_path(args.name, "versions", str(args.number), "rollback"))
    if detail.get("status") in IDLE_STATUSES:
        status = detail["status"]
        say(f"[OK] Version {args.number} is now current; the service is {status}, so it runs at the next start")
        return 0
    say(f"[OK] Service is rolling back to version {args.number}")
    if args.no_wait:
        return 0
    return wait_for(client, args.name, detail, want="Running", timeout=args.timeout, done=RUNNING)


def cmd_token(args, client: Client) -> int:
    if args.rotate:
        token = client.post(service_path(args.name, "token"))["token"]
    else:
        token = client.get(service_path(args.name)).get("token")
        if not token:
            raise CliError(f"you may not see the token of {args.name}: viewers never do")
    if args.json:
        print_json({"token": token})
    else:
        say(token)
    return 0


def cmd_desc(args, client: Client) -> int:
    detail = client.get(service_path(args.name))
    if args.json:
        print_json(detail)
        return 0
    instances = client.get(service_path(args.name, "instances")).get("results", [])
    config = detail.get("config") or {}
    metadata = config.get("metadata") or {}
    counts = detail.get("counts") or {}
    endpoints = detail.get("endpoints") or {}
    deployment = detail.get("deployment") or {}
    memory = metadata.get("memory")
    rows = [
        ["Status", detail.get("status", "")],
        ["ServiceName", detail.get("name", "")],
        ["Workspace", detail.get("workspace", "")],
        ["Region", host_names(instances)],
        ["CreateTime", when(detail.get("created_at"))],
        ["UpdateTime", when(detail.get("updated_at"))],
    ]
    if detail.get("token"):
        rows.append(["AccessToken", detail["token"]])
    rows += [
        ["TotalInstance", counts.get("total", 0)],
        ["RunningInstance", counts.get("running", 0)],
        ["PendingInstance", counts.get("pending", 0)],
        ["CPU", metadata.get("cpu", "-")],
        ["GPU", metadata.get("gpu", 0)],
        ["Memory", f"{memory}M" if memory is not None else "-"],
        ["Image", ",".join(c.get("image", "") for c in config.get("containers") or [])],
        ["Weight", 100],
        ["LatestVersion", detail.get("latest_version") or ""],
        ["CurrentVersion", detail.get("current_version") or ""],
        ["Message", detail.get("message") or ""],
    ]
    if deployment:
        state = f"{deployment.get('kind')} {deployment.get('status')}"
        if deployment.get("status") == "running" and deployment.get("phase"):
            state += f" ({deployment['phase']})"
        rows.append(["LastDeployment", state])
        if deployment.get("message") and deployment["message"] != detail.get("message"):
            rows.append(["DeploymentMessage", deployment["message"]])
    rows += [
        ["InternetEndpoint", endpoints.get("internet", "")],
        ["IntranetEndpoint", endpoints.get("intranet", "")],
        *([["GrpcEndpoint", endpoints["grpc"]]] if endpoints.get("grpc") else []),
        ["ServicePath", detail.get("service_path", "")],
        ["ServiceConfig", json.dumps(config, indent=2, ensure_ascii=False)],
    ]
    # Long messages (they carry log lines) wrap, so the table stays readable in a terminal.
    cells = [[k, v if k == "ServiceConfig" else wrap(str(v))] for k, v in rows]
    say(box(cells, right={0}))
    return 0


def list_all(client: Client, **query) -> dict:
    """Every page of GET /services."""
    results: list = []
    count = 0
    while True:
        body = client.get("/services", **query, limit=100, offset=len(results))
        page = body.get("results") or []
        results += page
        count = body.get("count", len(results))
        if not page or len(results) >= count:
            return {"count": count, "results": results}


def cmd_ls(args, client: Client) -> int:
    body = list_all(client, workspace=args.workspace, search=args.search, status=args.status)
    if args.json:
        print_json(body)
        return 0
    rows = []
    for s in body["results"]:
        if "hosts" in s:
            region = ",".join(s["hosts"]) or "local"
        else:
            # The list shape has no hosts: ask each service (N requests; fine for a console's worth).
            try:
                region = host_names(client.get(service_path(s["name"], "instances")).get("results", []))
            except ApiNotFound:
                region = "-"  # deleted meanwhile
        rows.append([s["name"], region, str(s.get("instance", "")), when(s.get("created_at")),
                     when(s.get("updated_at")), s.get("status", ""), "100", s.get("service_path", "")])
    header = ["SERVICENAME", "REGION", "INSTANCE", "CREATETIME", "UPDATETIME", "STATUS", "WEIGHT", "SERVICEPATH"]
    say(box(rows, header, right={2, 6}))
    return 0


def cmd_w(args, client: Client) -> int:
    body = client.get(service_path(args.name, "instances"))
    if args.json:
        print_json(body)
        return 0
    rows = []
    for i in body.get("results", []):
        inner = f"{i.get('host_ip') or ''}:{i['host_port']}" if i.get("host_port") else (i.get("host_ip") or "")
        rows.append([i["name"], inner, i.get("host_ip") or "", when(i.get("started_at")), str(i.get("restarts", 0)),
                     i.get("status", ""), f"[{1 if i.get('ready') else 0}/1]", i.get("reason") or "",
                     compact(i.get("last_state") or {})])
    header = ["INSTANCENAME", "INNERIP", "HOSTIP", "STARTAT", "RESTARTS", "STATUS", "READY", "REASON", "LASTSTATE"]
    say(box(rows, header, right={4}))
    return 0


def cmd_events(args, client: Client) -> int:
    body = client.get(service_path(args.name, "events"), limit=args.limit, instance=args.instance)
    if args.json:
        print_json(body)
        return 0
    # The API gives newest first; a terminal reads best with the newest at the bottom.
    rows = [[when(e.get("time")), e.get("type", ""), e.get("reason", ""), e.get("instance") or "-",
             e.get("actor") or "-", e.get("message", "")] for e in reversed(body.get("results", []))]
    say(columns(rows, ["TIME", "TYPE", "REASON", "INSTANCE", "ACTOR", "MESSAGE"]))
    return 0


def cmd_logs(args, client: Client) -> int:
    query = {"instance": args.instance, "tail": args.tail}
    if not args.follow:
        _, text = client.call("GET", service_path(args.name, "logs"), query=query)
        sys.stdout.write(str(text or ""))
        sys.stdout.flush()
        return 0
    # No read timeout: a quiet service may log nothing for minutes.
    response = client.open("GET", service_path(args.name, "logs"), query={**query, "follow": "true"}, timeout=None)
    with response:
        out = sys.stdout.buffer
        while True:
            try:
                chunk = response.read1(65536)
            except KeyboardInterrupt:
                return 130  # the way to stop following: no message needed
            except (http.client.HTTPException, ConnectionError) as exc:
                raise CliError(f"the log stream broke: {exc or type(exc).__name__}")
            if not chunk:
                return 0
            out.write(chunk)
            out.flush()


# --- the parser ------------------------------------------------------------------------------

COMMANDS = {
    "config": (cmd_config, "show or save the endpoint and API key", """\
Examples:
  berth config -e http://berth.example.com:8000 -k berth_xxxxxxxx
  berth -c staging config -e http://staging:8000 -k berth_yyyyyyyy   # a second profile
  berth config                                                        # show what is in effect

Settings are stored in ~/.berth/config (mode 0600). BERTH_ENDPOINT and BERTH_API_KEY
override the stored profile; --endpoint and --api-key override both."""),
    "create": (cmd_create, "create a service from a JSON config and wait until it runs", """\
Example:
  berth create service.json
  berth create service.json --workspace team-a --timeout 300

Prints the endpoints and token, then a line each time the instance counts change,
and ends with "[OK] Service is running" (exit 0) or the reason it failed with the
last log lines (exit 1)."""),
    "modify": (cmd_modify, "change a service's config (merge) and wait for the rollout", """\
Examples:
  berth modify my_service -Dmetadata.instance=4
  berth modify my_service -Dcontainers[0].image=registry.example.com/team/app:2
  berth modify my_service -s partial.json

-D values are JSON when they parse (4, true, ["a"]) and strings otherwise; -s merges
a partial config (JSON merge patch: objects merge, arrays are replaced, null deletes).
Changing only metadata.instance scales without a new version."""),
    "desc": (cmd_desc, "describe a service", "Example:\n  berth desc my_service\n  berth desc my_service --json"),
    "ls": (cmd_ls, "list services", "Examples:\n  berth ls\n  berth ls --status Running --search demo --json"),
    "w": (cmd_w, "list a service's instances (eascmd showworkers)", "Example:\n  berth w my_service"),
    "events": (cmd_events, "show a service's events, oldest first", "Example:\n  berth events my_service --limit 20"),
    "logs": (cmd_logs, "print an instance's logs", """\
Examples:
  berth logs my_service                      # the first instance, last 200 lines
  berth logs my_service --instance my_service-1-2 --tail 50
  berth logs my_service -f                   # follow; Ctrl-C to stop"""),
    "stop": (cmd_lifecycle, "stop every instance (config, versions and token are kept)",
             "Example:\n  berth stop my_service"),
    "start": (cmd_lifecycle, "start a stopped or failed service", "Example:\n  berth start my_service"),
    "restart": (cmd_lifecycle, "restart every instance, one at a time",
                "Example:\n  berth restart my_service --no-wait"),
    "token": (cmd_token, "print a service's access token, or rotate it", """\
Examples:
  berth token my_service
  berth token my_service --rotate      # the old token stops working at once"""),
    "delete": (cmd_delete, "delete a service and everything it runs",
               "Examples:\n  berth delete my_service\n  berth delete my_service -y     # without asking"),
    "version": (cmd_version, "list versions, or roll back to version N", """\
Examples:
  berth version my_service         # list the versions
  berth version my_service 2       # roll back to version 2 and wait until it runs"""),
    "validate": (cmd_validate, "check a config without deploying it", """\
Example:
  berth validate service.json

Prints each error with the path of the key at fault and exits 1 when the config is invalid."""),
}
ALIASES = {"ls": ["list"], "w": ["showworkers"], "desc": ["describe"]}


def add_connection_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    # On subcommands the defaults are SUPPRESS, so `berth ls --debug` and `berth --debug ls` both work.
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group("connection")
    group.add_argument("-c", "--profile", metavar="PROFILE", default=default,
                       help=f"profile in ~/.berth/config (default: $BERTH_PROFILE or {DEFAULT_PROFILE!r})")
    group.add_argument("--endpoint", metavar="URL", default=default, help="console URL (overrides $BERTH_ENDPOINT)")
    group.add_argument("--api-key", metavar="KEY", default=default, help="API key (overrides $BERTH_API_KEY)")
    group.add_argument("--debug", action="store_true", default=False if top else argparse.SUPPRESS,
                       help="show tracebacks of unexpected errors")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="berth",
        description="Deploy and manage model services on a Berth console (an eascmd-style client).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Examples:\n  berth config -e http://berth.example.com:8000 -k berth_xxxx\n"
        "  berth create service.json\n  berth ls\n  berth modify my_service -Dmetadata.instance=2\n\n"
        "`berth COMMAND --help` shows a command's options and examples.",
    )
    parser.add_argument("--version", action="version", version=f"berth {VERSION}")
    add_connection_options(parser, top=True)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, summary, epilog) in COMMANDS.items():
        p = sub.add_parser(name, aliases=ALIASES.get(name, []), help=summary, description=summary, epilog=epilog,
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(command=name)
        add_command_options(name, p)
        add_connection_options(p, top=False)
    return parser


def add_command_options(name: str, p: argparse.ArgumentParser) -> None:
    def json_flag():
        p.add_argument("--json", action="store_true", help="print the API's JSON instead of a table")

    def wait_flags():
        p.add_argument("--timeout", type=float, default=DEFAULT_WAIT, metavar="SECONDS",
                       help=f"how long to wait (default {DEFAULT_WAIT})")
        p.add_argument("--no-wait", action="store_true", help="return once the server accepted the change")

    if name == "config":
        p.add_argument("-e", "--set-endpoint", metavar="URL",
                       help="the console's URL, e.g. http://berth.example.com:8000")
        p.add_argument("-k", "--set-api-key", metavar="KEY", help="an API key from the console's API keys page")
        json_flag()
    elif name in ("create", "validate"):
        p.add_argument("file", help="the service config (JSON); - reads stdin")
        if name == "create":
            p.add_argument("--workspace", metavar="SLUG", help="workspace to create it in (default: your current one)")
            wait_flags()
        else:
            json_flag()
    elif name == "modify":
        p.add_argument("name")
        p.add_argument("-s", dest="file", metavar="FILE", help="a partial config to merge (JSON)")
        p.add_argument("-D", dest="define", action="append", metavar="KEY=VALUE",
                       help="set one key, e.g. -Dmetadata.instance=4 (repeatable)")
        wait_flags()
    elif name in ("desc", "w"):
        p.add_argument("name")
        json_flag()
    elif name == "ls":
        p.add_argument("--workspace", metavar="SLUG", help="only this workspace")
        p.add_argument("--search", metavar="TEXT", help="only names containing TEXT")
        p.add_argument("--status", metavar="STATUS", help="only this status, e.g. Running")
        json_flag()
    elif name == "events":
        p.add_argument("name")
        p.add_argument("--limit", type=int, default=50, help="how many of the newest events (default 50)")
        p.add_argument("--instance", metavar="NAME", help="only this instance's events")
        json_flag()
    elif name == "logs":
        p.add_argument("name")
        p.add_argument("-f", "--follow", action="store_true", help="keep printing new lines")
        p.add_argument("--instance", metavar="NAME", help="instance name (see `berth w`; default: the first)")
        p.add_argument("--tail", type=int, metavar="N", help="lines from the end (default 200)")
    elif name in ("stop", "start", "restart"):
        p.add_argument("name")
        wait_flags()
    elif name == "token":
        p.add_argument("name")
        p.add_argument("--rotate", action="store_true", help="make a new token; the old one stops working at once")
        json_flag()
    elif name == "delete":
        p.add_argument("name")
        p.add_argument("-y", "--yes", action="store_true", help="do not ask")
        wait_flags()
    elif name == "version":
        p.add_argument("name")
        p.add_argument("number", type=int, nargs="?", help="the version to roll back to; without it, list versions")
        wait_flags()
        json_flag()


def run(args: argparse.Namespace) -> int:
    settings = Settings(args)
    handler = COMMANDS[args.command][0]
    if handler is cmd_config:
        return cmd_config(args, settings)
    client = settings.client()
    try:
        return handler(args, client)
    except ConfigRejected as exc:
        source = getattr(args, "file", None) or "the config"
        for item in exc.warnings:
            warn(f"[WARN] {item.get('path') or '(config)'}: {item.get('message')}")
        for item in exc.errors:
            warn(f"berth: {source}: {item.get('path') or '(config)'}: {item.get('message')}")
        return 1


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return run(args)
    except CliError as exc:
        warn(f"berth: {exc}")
        return exc.code
    except KeyboardInterrupt:
        warn("\nberth: interrupted (a change already sent goes on on the server)")
        return 130
    except BrokenPipeError:
        # `berth ls | head`: the reader left; say nothing more.
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:
            pass
        return 0
    except Exception as exc:  # noqa: BLE001 - the promise is one line, never a traceback
        if args.debug:
            traceback.print_exc()
        else:
            warn(f"berth: unexpected error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
        return 1


if __name__ == "__main__":
    sys.exit(main())
