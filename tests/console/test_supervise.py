"""`make run`'s supervisord config (console/supervise.py) from the process description."""

import configparser
import shlex
import sys
from pathlib import Path

from console import processes
from console.supervise import render_config

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_adds_redis_and_dockerd_only_when_none_answers():
    assert [p.name for p in processes.for_run(redis=False, dockerd=False)] == [p.name for p in processes.own()]
    both = [p.name for p in processes.for_run(redis=True, dockerd=True)]
    assert both[:2] == ["redis", "dockerd"]  # started, and waited for, before Berth's own
    assert [p.name for p in processes.for_run(redis=False, dockerd=True)][0] == "dockerd"


def test_make_runs_redis_keeps_an_append_only_file_and_dockerd_listens_where_berth_looks(tmp_path):
    values = {
        "python": sys.executable,
        "base": str(ROOT),
        "var": "/v",
        "bind": "127.0.0.1:8000",
        "redis_host": "127.0.0.1",
        "redis_port": "6390",
        "docker_socket": "/run/test-docker.sock",
        "teardown_queue": "teardown",
    }
    config = configparser.RawConfigParser()
    config.read_string(render_config(processes.for_run(redis=True, dockerd=True), values, run_dir=tmp_path, base=ROOT))
    redis_argv = shlex.split(config["program:redis"]["command"])
    assert redis_argv[redis_argv.index("--appendonly") + 1] == "yes"
    assert redis_argv[redis_argv.index("--dir") + 1] == "/v/redis/6390"
    assert redis_argv[redis_argv.index("--port") + 1] == "6390"
    dockerd_argv = shlex.split(config["program:dockerd"]["command"])
    assert dockerd_argv[1:] == ["-H", "unix:///run/test-docker.sock"]
    for section in ("program:redis", "program:dockerd", "program:web"):
        assert config[section]["autorestart"] == "true" and config[section]["stopasgroup"] == "true"
