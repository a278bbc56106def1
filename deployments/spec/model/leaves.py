"""Leaf types of the config model: strings, numbers and paths with the sentence a person reads on error."""

import posixpath
import re
import shlex
from typing import Annotated, Any

from pydantic import AfterValidator, Field, JsonValue, WrapValidator

from deployments.spec.credentials import DOCKER_AUTH_RULE, DockerAuthError, decode_docker_auth
from deployments.spec.model.base import (
    ENV_NAME_PATTERN,
    INT_MAX,
    NAME_PATTERN,
    NAME_RULE,
    RESERVED_PORTS,
    bounded_int,
    fail,
    with_message,
)

# Docker's reference grammar (distribution/reference, regexp.go), with ASCII classes
# instead of \w (which is Unicode in Python) and only the registered digest algorithms.
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
# A first component counts as a registry only with a '.' or a port, as localhost or an IPv6
# literal (Docker's own split); anything else is a repository component, which must be lowercase.
# (Docker also takes an uppercase first component for a registry: "Accept/busybox" would then be
# pulled from a host named Accept. Berth refuses it instead.)
_DOMAIN = (
    rf"(?:localhost(?::[0-9]+)?|{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})+(?::[0-9]+)?"
    rf"|{_DOMAIN_COMPONENT}:[0-9]+|\[[a-fA-F0-9:]+\](?::[0-9]+)?)"
)
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_TAG = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_DIGEST = r"(?:sha256:[a-f0-9]{64}|sha384:[a-f0-9]{96}|sha512:[a-f0-9]{128})"
# IMAGE_PATTERN is also published in the JSON schema, so it stays ECMA-262 compatible (no named groups).
IMAGE_PATTERN = rf"^{_NAME}(?::{_TAG})?(?:@{_DIGEST})?$"
# Python's `$` also matches before a final newline, so the Python checks use fullmatch.
_IMAGE_RE = re.compile(rf"(?P<name>{_NAME})(?::{_TAG})?(?:@{_DIGEST})?")
IMAGE_RULE = (
    "must be an image reference like registry.example.com:5000/team/app:1.0 "
    "(lowercase repository, optional :tag and @sha256:digest)"
)

_TOKEN_RE = re.compile(r"[\x21-\x7e]+")
# A user-given service token guards every request; shorter ones can be guessed.
TOKEN_MIN_LENGTH = 16
_PERCENT_PATTERN = r"^(?:100|[1-9]?[0-9])%$"
_PERCENT_RE = re.compile(r"(?:100|[1-9]?[0-9])%")

# --- leaf checks --------------------------------------------------------------------------------


def _port_not_reserved(port: int) -> int:
    if port in RESERVED_PORTS:
        fail(
            f"port {port} is reserved: EAS runs its engine and sidecar on 8080 and 9090; "
            "listen on another port, such as 8000"
        )
    return port


def _image_reference(value: str) -> str:
    match = _IMAGE_RE.fullmatch(value)
    if match is None:
        if _IMAGE_RE.fullmatch(value.lower()):
            fail("the repository part of an image reference must be lowercase")
        fail(IMAGE_RULE)
    if len(match["name"]) > 255:
        fail("an image name (registry and repository) must be at most 255 characters")
    return value


def _docker_auth(value: str) -> str:
    try:
        decode_docker_auth(value)
    except DockerAuthError as exc:
        fail(f"{DOCKER_AUTH_RULE}; {exc}")
    return value


def _token(value: str) -> str:
    if not _TOKEN_RE.fullmatch(value):
        fail("must be a non-empty string of printable ASCII without spaces: it is sent in an HTTP header")
    if len(value) < TOKEN_MIN_LENGTH:
        fail(
            f"must be at least {TOKEN_MIN_LENGTH} characters: a short token can be guessed; "
            "leave token out and Berth generates one"
        )
    return value


def _absolute_path(value: str) -> str:
    if not value.startswith("/"):
        fail("must be an absolute path, starting with /")
    return value


def _directory(value: str) -> str:
    """An absolute directory without '..', normalised: '//' and '/./' collapse.

    A trailing slash is kept as written ("/models/" is how the EAS examples write mounts).
    """
    _absolute_path(value)
    if ".." in value.split("/"):
        fail("must not contain '..': give the directory itself, e.g. /models")
    clean = "/" + posixpath.normpath(value).lstrip("/")
    return clean + "/" if value.endswith("/") and clean != "/" else clean


def _mount_path(value: str) -> str:
    value = _directory(value)
    if value == "/":
        fail("cannot mount over the container's root /; choose a directory such as /models")
    return value


def _command(value: str) -> str:
    # The engine splits `command` the same way (exec form); a quote left open would fail there, at every start.
    try:
        words = shlex.split(value)
    except ValueError as exc:
        fail(
            f"cannot be split into words ({str(exc).lower()}): close the quote or escape it with \\, "
            "or use script for shell syntax"
        )
    if not words:
        fail("must name the program to run, e.g. python app.py")
    return value


def _no_option(value: str) -> str:
    if value.startswith("-"):
        fail("must not start with '-': git would read it as an option")
    return value


def _no_comma(value: str) -> str:
    if "," in value:
        fail("must not contain ',': NFS settings travel as comma-separated mount options")
    return value


def _oss_path(value: str) -> str:
    if not value.startswith("oss://") or len(value) <= len("oss://"):
        fail("must be an OSS path like oss://bucket/dir/")
    return value


def _https_url(value: str) -> str:
    if not value.startswith("https://") or len(value) <= len("https://"):
        fail("must be an https:// URL: git mounts clone over HTTPS only")
    return value


def _cron6(value: str) -> str:
    if len(value.split()) != 6:
        fail('must be a 6-field cron expression with a leading seconds field, e.g. "0 0 8 * * *"')
    return value


def _int_or_percent(value: Any, handler: Any) -> Any:
    """An instance count or a share of `instance`; checked here, the inner type only feeds the JSON schema."""
    if type(value) is int and 0 <= value <= INT_MAX:
        return value
    if type(value) is str and _PERCENT_RE.fullmatch(value):
        return value
    fail('must be an integer of at least 0 or a percentage such as "25%"')


# --- leaf types ---------------------------------------------------------------------------------

Text = Annotated[str, Field(min_length=1), with_message("must be a non-empty string")]
Name = Annotated[str, Field(pattern=NAME_PATTERN), with_message(NAME_RULE)]
Port = Annotated[
    int,
    Field(ge=1, le=65535, json_schema_extra={"not": {"enum": list(RESERVED_PORTS)}}),
    with_message("must be an integer between 1 and 65535"),
    AfterValidator(_port_not_reserved),
]
ProbePort = bounded_int(1, 65535)
Image = Annotated[
    str, with_message(IMAGE_RULE), AfterValidator(_image_reference), Field(json_schema_extra={"pattern": IMAGE_PATTERN})
]
EnvName = Annotated[
    str,
    Field(pattern=ENV_NAME_PATTERN),
    with_message("must be a variable name: letters, digits and underscores, not starting with a digit"),
]
DockerAuth = Annotated[str, with_message("must be a string: base64 of 'user:password'"), AfterValidator(_docker_auth)]
Token = Annotated[str, with_message("must be a string"), AfterValidator(_token)]
AbsPath = Annotated[str, with_message("must be a string: an absolute path"), AfterValidator(_absolute_path)]
MountPath = Annotated[str, with_message("must be a string: an absolute path"), AfterValidator(_mount_path)]
Directory = Annotated[str, with_message("must be a string: an absolute path"), AfterValidator(_directory)]
Command = Annotated[str, Field(min_length=1), with_message("must be a non-empty string"), AfterValidator(_command)]
GitRef = Annotated[str, Field(min_length=1), with_message("must be a non-empty string"), AfterValidator(_no_option)]
NfsText = Annotated[str, Field(min_length=1), with_message("must be a non-empty string"), AfterValidator(_no_comma)]
NfsPath = Annotated[
    str, with_message("must be a string: an absolute path"), AfterValidator(_absolute_path), AfterValidator(_no_comma)
]
OssPath = Annotated[
    str, with_message("must be a string: an OSS path like oss://bucket/dir/"), AfterValidator(_oss_path)
]
HttpsUrl = Annotated[str, with_message("must be a string: an https:// URL"), AfterValidator(_https_url)]
Cron6 = Annotated[str, with_message("must be a string: a 6-field cron expression"), AfterValidator(_cron6)]
IntOrPercent = Annotated[
    Annotated[int, Field(ge=0)] | Annotated[str, Field(pattern=_PERCENT_PATTERN)], WrapValidator(_int_or_percent)
]
# A positive number; int first so that 10 stays 10 (a float type would dump 10.0).
PositiveNumber = Annotated[
    Annotated[int, Field(gt=0)] | Annotated[float, Field(gt=0)], with_message("must be a number greater than 0")
]
JsonObject = dict[str, JsonValue]
ObjectStoreName = Annotated[
    str,
    Field(min_length=1, max_length=63),
    with_message("must be the name of a saved object-store connection, 1 to 63 characters"),
]
