"""Helpers for tests that run Berth in subprocesses, each pointed at its own installation directory."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Variables of the outer environment that would decide what the subprocess's settings read.
_CLEARED = (
    "SECRET_KEY",
    "SECRET_KEY_FILE",
    "BERTH_ENCRYPTION_KEY",
    "BERTH_ENCRYPTION_KEY_FILE",
    "BERTH_ENCRYPTION_OLD_KEYS",
    "BERTH_ENCRYPTION_OLD_KEYS_FILE",
    "DEBUG",
    "ALLOWED_HOSTS",
    "BERTH_ENV",
    "BERTH_BIND",
    "DATABASE_URL",
    "BERTH_SQLITE_PATH",
    "BERTH_VAR_DIR",
    "BERTH_GATEWAY_TLS_CERT",
)


def installation_env(var_dir: Path, **extra: str) -> dict:
    """An environment for one installation whose state lives in `var_dir` (created by settings)."""
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    env.update(
        DJANGO_SETTINGS_MODULE="console.settings",
        BERTH_VAR_DIR=str(var_dir),
        BERTH_GATEWAY_DIR=str(var_dir / "gateway"),
        **extra,
    )
    return env


def run(args: list[str], env: dict, *, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180)
    if check:
        assert done.returncode == 0, f"{args} failed:\n{done.stdout}\n{done.stderr}"
    return done


def manage(*args: str, env: dict, check: bool = True) -> subprocess.CompletedProcess:
    return run(["manage.py", *args], env, check=check)


@pytest.fixture
def installation_env_for():
    return installation_env
