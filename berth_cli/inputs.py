"""What the user hands the CLI: config files (or stdin) and -DKEY=VALUE definitions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from berth_cli.client import CliError


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
