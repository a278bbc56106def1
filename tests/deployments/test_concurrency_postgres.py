"""Concurrent writes on a real PostgreSQL: version numbers stay unique, a deployment is claimed once."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import stack

pytestmark = pytest.mark.postgres


@pytest.fixture(scope="module")
def postgres_url():
    proc, url, root = stack.start_postgres()
    yield url
    stack.stop(proc)


def test_concurrent_modifies_and_claims_on_postgresql(postgres_url):
    script = Path(__file__).with_name("pg_concurrency.py")
    env = {**os.environ, "DATABASE_URL": postgres_url, "DJANGO_SETTINGS_MODULE": "console.settings"}
    done = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["vendor"] == "postgresql"
    # Every modify made its own version: no lost update, no duplicate number.
    assert result["modified"] == [True] * 8, result["modified"]
    assert result["versions"] == list(range(1, 10))
    assert result["latest"] == 9
    # Eight workers race for one queued deployment: exactly one wins.
    assert sorted(result["claims"]) == [0] * 7 + [1]
