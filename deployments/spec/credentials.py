"""Credentials written inline in a config: `dockerAuth` and a user name and password in a git URL.

Pure functions, shared by the spec (validation), deployments.registries (pulling) and the
console's service form, so that there is one reading of each format.
"""

import base64
import binascii
from urllib.parse import unquote, urlsplit, urlunsplit

DOCKER_AUTH_RULE = "must be base64 of 'user:password' (echo -n 'user:password' | base64)"


class DockerAuthError(ValueError):
    """dockerAuth is not base64 of "user:password"; the text says why (without the value)."""


def decode_docker_auth(value: str) -> tuple[str, str]:
    """("user", "password") from `value`, base64 of "user:password" as `echo -n user:password | base64` prints it.

    Strict base64 (no stray characters), UTF-8 text, a ':' and a non-empty user name; the
    password may be empty or contain ':'. Raises DockerAuthError otherwise.
    """
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise DockerAuthError("this is not valid base64") from None
    user, colon, password = decoded.partition(":")
    if not colon:
        raise DockerAuthError("it decodes to text without a ':'")
    if not user:
        raise DockerAuthError("the user name before ':' is empty")
    return user, password


def encode_docker_auth(user: str, password: str) -> str:
    return base64.b64encode(f"{user}:{password}".encode()).decode()


def url_credentials(url: str) -> tuple[str, str | None, str | None]:
    """(url without user info, user, password) for an http(s) URL; user and password are None when absent.

    Percent-escapes in the user info are decoded (`p%40ss` is `p@ss`). Only the user info
    changes: scheme, host, port, path, query and fragment are kept as written. A URL that
    cannot be parsed comes back unchanged with (None, None).
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None, None
    if "@" not in parts.netloc:
        return url, None, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, colon, password = userinfo.partition(":")
    clean = urlunsplit((parts.scheme, host, parts.path, parts.query, parts.fragment))
    return clean, unquote(user), unquote(password) if colon else None
