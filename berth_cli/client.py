"""Settings (~/.berth/config profiles, the environment, flags), the HTTP client of /api/v1/, and errors.

Every failure a user can cause or meet becomes a CliError with one line that says what to do.
"""

from __future__ import annotations

import argparse
import configparser
import http.client
import json
import os
import socket
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from berth_cli import VERSION

DEFAULT_PROFILE = "default"
REQUEST_TIMEOUT = 30


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
