"""deploy/systemd/ is what console/processes.py renders, and starts what `make run` starts."""

import configparser
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from console import processes
from console.supervise import render_config
from console.units import Layout, render_units

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"


def test_the_committed_units_are_what_the_process_description_renders():
    committed = {path.name: path.read_text() for path in UNITS.iterdir()}
    assert committed == render_units(), "run: manage.py deploy_units --write"
    call_command("deploy_units", "--check")  # the command agrees


def test_deploy_units_check_fails_on_a_drifted_or_stale_file_and_write_repairs_it(tmp_path):
    shutil.copytree(UNITS, tmp_path, dirs_exist_ok=True)
    unit = tmp_path / "berth-worker.service"
    unit.write_text(unit.read_text().replace("--concurrency 2", "--concurrency 8"))
    (tmp_path / "berth-old.service").write_text("[Unit]\n")
    with pytest.raises(CommandError, match="deploy_units --write"):
        call_command("deploy_units", "--check", "--dir", str(tmp_path))
    call_command("deploy_units", "--write", "--dir", str(tmp_path))
    assert not (tmp_path / "berth-old.service").exists()
    call_command("deploy_units", "--check", "--dir", str(tmp_path))


def _exec_start(text: str) -> list[str]:
    line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    return line.removeprefix("ExecStart=").split()


def test_each_process_make_run_supervises_has_a_unit_running_the_same_command(tmp_path):
    dev = {
        "python": sys.executable,
        "base": str(ROOT),
        "var": "/dev-var",
        "bind": "127.0.0.1:8000",
        "teardown_queue": "teardown",
    }
    config = configparser.RawConfigParser()
    config.read_string(render_config(list(processes.own()), dev, run_dir=tmp_path, base=ROOT))
    supervised = {
        section.removeprefix("program:"): shlex.split(config[section]["command"])
        for section in config.sections()
        if section.startswith("program:")
    }
    layout = Layout()
    units = render_units(layout)
    assert {f"berth-{name}.service" for name in supervised} | {"berth.target"} == set(units)
    for name, argv in supervised.items():
        in_unit = _exec_start(units[f"berth-{name}.service"])
        # Same program and arguments; only the paths and the bind address differ between the two layouts.
        as_dev = [
            part.replace(layout.python, sys.executable)
            .replace(layout.base, str(ROOT))
            .replace(layout.state, "/dev-var")
            for part in in_unit
        ]
        assert [part.replace("${BERTH_BIND}", "127.0.0.1:8000") for part in as_dev] == argv, name
    target = units["berth.target"]
    assert all(f"berth-{name}.service" in target for name in supervised)


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_the_units_pass_systemd_analyze_verify(tmp_path):
    # Paths of this machine, so verify can check that ExecStart is executable.
    layout = Layout(base=str(ROOT), python=sys.executable, env_file="/dev/null")
    for name, text in render_units(layout).items():
        (tmp_path / name).write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())], capture_output=True, text=True
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
