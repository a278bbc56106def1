"""Fixtures for the CLI tests (a live server the berth command talks to).

The CLI runs as a real subprocess (`python -m berth_cli`) with HOME in a temp
dir, so it reads and writes its own ~/.berth/config there and never the tester's.
"""

import os
import subprocess
import sys

import pytest

from tests.stack import ROOT


class Berth:
    """Runs `berth ARGS...` as a subprocess with a fixed environment."""

    def __init__(self, env: dict[str, str]):
        self.env = env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "berth_cli", *map(str, args)]

    def __call__(
        self, *args: str, input: str | None = None, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            self.command(*args),
            cwd=ROOT,
            env={**self.env, **env},
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            self.command(*args), cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )

    def with_env(self, **env: str) -> "Berth":
        return Berth({**self.env, **env})


def _base_env(home) -> dict[str, str]:
    # The tester's own BERTH_* settings must not leak into the CLI under test.
    env = {k: v for k, v in os.environ.items() if not k.startswith("BERTH_")}
    env.update(HOME=str(home), PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    return env


@pytest.fixture
def cli_home(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def berth_offline(cli_home) -> Berth:
    """The CLI with an empty HOME and no endpoint: for config and usage tests."""
    return Berth(_base_env(cli_home))


def api_key_for(user) -> str:
    from deployments.actions.api_keys import api_key_create

    _, plain = api_key_create(user=user, name="cli")
    return plain


@pytest.fixture
def alice_api_key(alice) -> str:
    return api_key_for(alice)


@pytest.fixture
def berth(live_server, alice_api_key, cli_home) -> Berth:
    """The CLI talking to the live server as alice."""
    return Berth({**_base_env(cli_home), "BERTH_ENDPOINT": live_server.url, "BERTH_API_KEY": alice_api_key})
