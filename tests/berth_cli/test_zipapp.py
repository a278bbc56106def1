"""berth.pyz: the CLI as one file (`make berth.pyz`), run by a bare system Python as on a laptop."""

import os
import shutil
import subprocess
import zipfile

import pytest

from tests.berth_cli import test_cli as cli
from tests.stack import ROOT

SYSTEM_PYTHON = shutil.which("python3", path="/usr/bin:/bin")


@pytest.fixture(scope="module")
def pyz(tmp_path_factory):
    """berth.pyz built by the Makefile target into a temp dir, never into the checkout's dist/."""
    path = tmp_path_factory.mktemp("pyz") / "berth.pyz"
    subprocess.run(["make", "-s", "berth.pyz", f"PYZ={path}"], cwd=ROOT, check=True, capture_output=True, timeout=120)
    return path


def run_pyz(pyz, env: dict[str, str], *args: str, cwd) -> subprocess.CompletedProcess:
    # No PYTHONPATH and a cwd outside the checkout: only what is inside the file can be imported.
    env = {k: v for k, v in env.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [SYSTEM_PYTHON, str(pyz), *args], cwd=cwd, env=env, input="", capture_output=True, text=True, timeout=60
    )


def test_the_zipapp_holds_the_package_sources_and_nothing_else(pyz):
    names = zipfile.ZipFile(pyz).namelist()
    assert "__main__.py" in names and "berth_cli/__main__.py" in names and "berth_cli/commands/ls.py" in names
    assert all(n == "__main__.py" or n.startswith("berth_cli/") for n in names), names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    assert os.access(pyz, os.X_OK)


def test_the_zipapp_answers_the_live_server_exactly_like_the_package(berth, alice, pyz, tmp_path):
    service = cli.draft(alice, "clipyz")
    for args in (
        ["ls", "--search", service.name],
        ["desc", service.name],
        ["version", service.name],
        ["desc", "no-such-service"],
        ["--help"],
    ):
        package = berth(*args)
        zipped = run_pyz(pyz, berth.env, *args, cwd=tmp_path)
        assert (zipped.returncode, zipped.stdout, zipped.stderr) == (package.returncode, package.stdout, package.stderr)
    # The comparisons above were of real answers, not of two identical failures.
    rows = cli.table_rows(cli.ok(run_pyz(pyz, berth.env, "ls", "--search", service.name, cwd=tmp_path)))
    assert rows[1][0] == service.name and rows[1][5] == "NotDeployed"
    cli.fails(run_pyz(pyz, berth.env, "desc", "no-such-service", cwd=tmp_path), "no service named 'no-such-service'")
