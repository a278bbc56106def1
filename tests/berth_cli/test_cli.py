"""The `berth` CLI as a user runs it: a subprocess talking to a live server, a real worker and dockerd."""

import json
import re
import stat
import threading

import pytest

from deployments.actions import services, workspaces
from deployments.models import Service
from tests.conftest import SERVICE_PREFIX
from tests.fixtures_cli import api_key_for
from tests.stack import free_port

FAST_CHECK = {
    "initial_delay_seconds": 0,
    "period_seconds": 1,
    "timeout_seconds": 1,
    "success_threshold": 1,
    "failure_threshold": 2,
}
COMMANDS = [
    "config",
    "create",
    "modify",
    "desc",
    "ls",
    "w",
    "events",
    "logs",
    "stop",
    "start",
    "restart",
    "token",
    "delete",
    "version",
    "validate",
]


def web_config(name: str, image: str, *, instance: int = 1, body: str = "v1") -> dict:
    """busybox httpd on port 8000 that logs a line first, with a 1 s HTTP health check."""
    return {
        "name": SERVICE_PREFIX + name,
        "containers": [
            {
                "image": image,
                "script": f"echo serving {body}; mkdir -p /www && echo {body} > /www/index.html"
                " && exec httpd -f -p 8000 -h /www",
                "port": 8000,
                "health_check": {"http_get": {"path": "/index.html", "port": 8000}, **FAST_CHECK},
            }
        ],
        "metadata": {"instance": instance, "memory": 64, "eas": {"termination_grace_period": 1}},
    }


def write_json(tmp_path, name: str, value) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value, indent=2))
    return str(path)


def ok(result) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def fails(result, *fragments: str) -> str:
    """A failure: non-zero exit, a message on stderr naming each fragment, and no traceback."""
    assert result.returncode != 0, f"expected a failure\nstdout:\n{result.stdout}"
    assert "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, f"{fragment!r} not in stderr:\n{result.stderr}"
    return result.stderr


def read_line(process, *, timeout: float) -> str:
    """The next line a running process prints, without hanging the suite when none comes."""
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert lines, f"no output within {timeout}s"
    return lines[0].strip()


def table_rows(output: str) -> list[list[str]]:
    """The cells of a box table's rows (header first)."""
    lines = [line for line in output.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in lines]


def draft(alice, name: str, *, workspace=None) -> Service:
    """A saved, never-deployed service: enough for the commands that need no container."""
    workspace = workspace or workspaces.workspace_current_ensure(user=alice)
    image = "registry.example.com/team/app:1"
    service, _ = services.service_create(actor=alice, workspace=workspace, config=web_config(name, image), deploy=False)
    return service


# --- the whole life of a service, against the real stack ---------------------------------------


@pytest.mark.docker
@pytest.mark.redis
def test_a_service_lives_its_whole_life_through_the_cli(berth, local_host, busybox_image, tmp_path):
    name = SERVICE_PREFIX + "cli"
    config_file = write_json(tmp_path, "service.json", web_config("cli", busybox_image))

    assert "is a valid service config" in ok(berth("validate", config_file))

    # create: endpoint table, progress, the final line.
    out = ok(berth("create", config_file))
    lines = out.splitlines()
    assert re.search(rf"\| Internet Endpoint \| http://\S+/api/predict/{name} +\|", out)
    assert re.search(r"\|\s+Token \| \S+", out)
    assert "[OK] Service is now creating" in lines
    assert "[OK] Waiting [Total: 1, Pending: 1, Running: 0]" in lines
    assert lines[-1] == "[OK] Service is running"
    token = Service.objects.get(name=name).token
    assert token in out

    # desc: eascmd's key/value fields, and the JSON for scripts.
    desc = dict(row[:2] for row in table_rows(ok(berth("desc", name))) if len(row) >= 2 and row[0])
    assert desc["Status"] == "Running" and desc["ServiceName"] == name
    assert desc["TotalInstance"] == "1" and desc["RunningInstance"] == "1" and desc["PendingInstance"] == "0"
    assert desc["Image"] == busybox_image and desc["Memory"] == "64M" and desc["Region"] == "local"
    assert desc["CurrentVersion"] == "1" and desc["AccessToken"] == token
    assert desc["ServicePath"] == f"/api/predict/{name}"
    detail = json.loads(ok(berth("desc", name, "--json")))
    assert detail["counts"] == {"total": 1, "running": 1, "pending": 0}
    assert detail["config"]["containers"][0]["image"] == busybox_image

    # ls: eascmd's columns; --json carries the API's list.
    rows = table_rows(ok(berth("ls", "--search", name)))
    assert rows[0] == "SERVICENAME REGION INSTANCE CREATETIME UPDATETIME STATUS WEIGHT SERVICEPATH".split()
    assert rows[1][:3] == [name, "local", "1"] and rows[1][5:] == ["Running", "100", f"/api/predict/{name}"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", rows[1][3])
    listed = json.loads(ok(berth("ls", "--json")))
    assert name in [s["name"] for s in listed["results"]]

    # modify -D: a pure scale, with progress until both instances run.
    out = ok(berth("modify", name, "-Dmetadata.instance=2"))
    assert "[OK] Service is now scaling to 2 instances" in out
    assert "[OK] Scaling [Total: 2, Pending: 1, Running: 1]" in out
    assert out.splitlines()[-1] == "[OK] Service is running"
    detail = json.loads(ok(berth("desc", name, "--json")))
    assert detail["counts"] == {"total": 2, "running": 2, "pending": 0} and detail["latest_version"] == 1

    # w: one row per instance, READY as [n/m], LASTSTATE as compact JSON.
    rows = table_rows(ok(berth("w", name)))
    assert rows[0] == "INSTANCENAME INNERIP HOSTIP STARTAT RESTARTS STATUS READY REASON LASTSTATE".split()
    assert len(rows) == 3
    for row in rows[1:]:
        assert row[2] == "127.0.0.1" and row[4] == "0" and row[5] == "Running" and row[6] == "[1/1]" and row[8] == "{}"
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+:\d+", row[1])  # where the gateway dials it: its container address
    instances = json.loads(ok(berth("w", name, "--json")))["results"]
    first = instances[0]["name"]

    # A rollout that cannot work: exit 1 with the reason, and the old version keeps serving.
    result = berth("modify", name, "-Dcontainers[0].image=127.0.0.1:1/berth/does-not-exist:1")
    fails(result, "[FAILED]", "does-not-exist")
    assert "[OK] Service is now updating to version 2" in result.stdout
    detail = json.loads(ok(berth("desc", name, "--json")))
    assert detail["status"] == "Running" and detail["current_version"] == 1

    # events and logs
    events = ok(berth("events", name))
    assert events.splitlines()[0].split() == ["TIME", "TYPE", "REASON", "INSTANCE", "ACTOR", "MESSAGE"]
    for reason in ("Creating", "Running", "Scaled", "RolloutFailed"):
        assert re.search(rf"\s{reason}\s", events), f"no {reason} event in:\n{events}"
    assert json.loads(ok(berth("events", name, "--json", "--limit", "1")))["results"][0]["reason"]
    assert "serving v1" in ok(berth("logs", name, "--instance", first))
    follower = berth.popen("logs", name, "-f")
    try:
        assert read_line(follower, timeout=20) == "serving v1"
    finally:
        follower.terminate()
        follower.wait(timeout=10)

    # stop, stop again (refused), start.
    out = ok(berth("stop", name))
    assert out.splitlines() == ["[OK] Service is stopping", "[OK] Service is stopped"]
    assert Service.objects.get(name=name).status == "Stopped"
    fails(berth("stop", name), "already stopped")
    out = ok(berth("start", name))
    assert out.splitlines()[0] == "[OK] Service is starting" and out.splitlines()[-1] == "[OK] Service is running"
    assert json.loads(ok(berth("desc", name, "--json")))["counts"]["running"] == 2

    # token --rotate replaces the token.
    rotated = ok(berth("token", name, "--rotate")).strip()
    assert rotated and rotated != token and Service.objects.get(name=name).token == rotated

    # delete: asks first; "n" keeps it, -y goes ahead and waits until it is gone.
    result = berth("delete", name, input="n\n")
    fails(result, "not deleted")
    assert f"Are you sure to delete the service [{name}]? [Y/n]" in result.stdout
    assert Service.objects.filter(name=name).exists()
    out = ok(berth("delete", name, "-y"))
    assert out.splitlines() == ["[OK] Service is terminating", "[OK] Service was deleted successfully"]
    assert not Service.objects.filter(name=name).exists()
    fails(berth("desc", name), f"no service named '{name}'")


@pytest.mark.docker
@pytest.mark.redis
def test_a_create_that_crashes_exits_1_with_the_reason_and_the_last_log_lines(
    berth, local_host, busybox_image, tmp_path
):
    config = web_config("clicrash", busybox_image)
    config["containers"][0]["script"] = "echo loading model; echo model file missing: /models/m.bin >&2; exit 3"
    result = berth("create", write_json(tmp_path, "crash.json", config))
    stderr = fails(result, "[FAILED]", "exited with code 3", "Last ")
    assert "  model file missing: /models/m.bin" in stderr.splitlines()
    assert "[OK] Service is running" not in result.stdout


# --- reads and writes that need no container -----------------------------------------------------


def test_modify_s_merges_a_partial_config_and_a_stopped_service_has_nothing_to_roll_out(berth, alice, tmp_path):
    service = draft(alice, "climerge")
    partial = write_json(
        tmp_path,
        "partial.json",
        {
            "metadata": {"memory": 128},
            "containers": [{**web_config("climerge", "registry.example.com/team/app:2")["containers"][0]}],
        },
    )
    out = ok(berth("modify", service.name, "-s", partial, "-Dmetadata.instance=3"))
    assert "applies at the next start" in out
    config = json.loads(ok(berth("desc", service.name, "--json")))["config"]
    assert config["metadata"]["memory"] == 128 and config["metadata"]["instance"] == 3
    assert config["containers"][0]["image"] == "registry.example.com/team/app:2"
    # Both versions are listed, the newest first.
    rows = table_rows(ok(berth("version", service.name)))
    assert [r[0] for r in rows[1:]] == ["2", "1"] and rows[1][1] == "*"


def test_delete_of_a_service_that_never_ran_is_immediate(berth, alice):
    service = draft(alice, "clidraft")
    out = ok(berth("delete", service.name, input="\n"))
    assert out.endswith("[OK] Service is terminating\n[OK] Service was deleted successfully\n")
    assert not Service.objects.filter(name=service.name).exists()


def test_validate_prints_each_error_with_its_path(berth, tmp_path):
    bad = {"name": "Bad Name", "containers": [{"image": "", "port": 8080, "script": "x"}], "metadata": {"instance": -1}}
    path = write_json(tmp_path, "bad.json", bad)
    stderr = fails(
        berth("validate", path),
        f"berth: {path}: name: must be",
        f"berth: {path}: containers[0].port: port 8080 is reserved",
        f"berth: {path}: metadata.instance: must be",
    )
    assert all(line.startswith(("berth: ", "[WARN] ")) for line in stderr.splitlines())
    errors = json.loads(berth("validate", path, "--json").stdout)["errors"]
    assert {"name", "containers[0].image", "containers[0].port", "metadata.instance"} <= {e["path"] for e in errors}
    # create refuses the same config the same way, and nothing is saved.
    fails(berth("create", path), "containers[0].port")
    assert not Service.objects.exists()


def test_an_invalid_json_file_is_reported_with_its_line_and_column(berth, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n  "name": "x",\n  "metadata": {"instance": 1,}\n}\n')
    stderr = fails(berth("create", str(path)), f"{path}: invalid JSON at line 3, column 30")
    assert len(stderr.splitlines()) == 1
    fails(berth("validate", str(tmp_path / "missing.json")), "cannot read", "missing.json")
    fails(berth("validate", write_json(tmp_path, "list.json", [1])), "must be a JSON object")


def test_an_unreachable_endpoint_a_wrong_key_and_an_unknown_service_fail_in_one_line(berth, alice):
    port = free_port()
    stderr = fails(berth("ls", BERTH_ENDPOINT=f"http://127.0.0.1:{port}"), f"cannot reach http://127.0.0.1:{port}")
    assert len(stderr.splitlines()) == 1

    stderr = fails(berth("ls", BERTH_API_KEY="berth_wrong"), "API key was refused")
    assert len(stderr.splitlines()) == 1
    fails(berth("ls", BERTH_API_KEY="not-even-a-key"), "API key was refused")

    for command in (["desc", "nope"], ["w", "nope"], ["logs", "nope"], ["stop", "nope"], ["delete", "nope", "-y"]):
        stderr = fails(berth(*command), "no service named 'nope'")
        assert len(stderr.splitlines()) == 1


def test_another_workspaces_service_looks_unknown_and_a_viewer_cannot_change_one(berth, alice, bob, charlie, team):
    service = draft(alice, "cliowned", workspace=team)
    fails(berth("desc", service.name, BERTH_API_KEY=api_key_for(charlie)), f"no service named '{service.name}'")
    # bob is a viewer of team-a: he reads, he cannot change, and he never sees the token.
    as_bob = berth.with_env(BERTH_API_KEY=api_key_for(bob))
    assert json.loads(ok(as_bob("desc", service.name, "--json")))["name"] == service.name
    fails(as_bob("modify", service.name, "-Dmetadata.instance=2"))
    fails(as_bob("token", service.name), "viewers never do")


def test_the_endpoint_flag_overrides_the_environment_which_overrides_the_config_file(berth, alice):
    port = free_port()
    ok(berth("config", "-e", f"http://127.0.0.1:{port}", "-k", "berth_stored"))
    # BERTH_ENDPOINT and BERTH_API_KEY (set by the fixture) win over the stored profile.
    ok(berth("ls"))
    fails(berth("ls", "--endpoint", f"http://127.0.0.1:{port}"), f"127.0.0.1:{port}")
    env_free = berth.with_env(BERTH_ENDPOINT="", BERTH_API_KEY="")
    fails(env_free("ls"), f"cannot reach http://127.0.0.1:{port}")


# --- no server at all ------------------------------------------------------------------------------


def test_config_saves_a_private_file_per_profile_under_home(berth_offline, cli_home):
    ok(berth_offline("config", "-e", "http://berth.example.com:8000/", "-k", "berth_one"))
    ok(berth_offline("-c", "staging", "config", "-e", "http://staging:8000", "-k", "berth_two"))
    path = cli_home / ".berth" / "config"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    shown = json.loads(ok(berth_offline("config", "--json")))
    assert shown["endpoint"] == "http://berth.example.com:8000" and shown["api_key_set"]
    shown = json.loads(ok(berth_offline("config", "--json", "-c", "staging")))
    assert shown["endpoint"] == "http://staging:8000" and shown["profile"] == "staging"
    assert "berth_two" not in ok(berth_offline("-c", "staging", "config"))
    shown = json.loads(ok(berth_offline("config", "--json", BERTH_ENDPOINT="http://env:1")))
    assert shown["endpoint"] == "http://env:1" and shown["endpoint_source"] == "BERTH_ENDPOINT"
    fails(berth_offline("config", "-e", "berth.example.com"), "must be a URL")


def test_without_settings_it_says_how_to_configure(berth_offline):
    fails(berth_offline("ls"), "no endpoint configured", "berth config -e URL -k KEY")
    no_key = berth_offline("-c", "prod", "ls", BERTH_ENDPOINT="http://127.0.0.1:1")
    fails(no_key, "no API key configured", "berth -c prod config")


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example(berth_offline, command):
    out = ok(berth_offline(command, "--help"))
    assert f"berth {command}" in out and "Example" in out


def test_bad_usage_exits_2_and_a_broken_config_file_is_reported_in_one_line(berth_offline, cli_home):
    result = berth_offline("modify")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    configured = berth_offline.with_env(BERTH_ENDPOINT="http://127.0.0.1:1", BERTH_API_KEY="k")
    assert configured("modify", "x", "-Dnovalue").returncode == 2
    # A hand-edited config file that is not INI: one line naming the file.
    (cli_home / ".berth").mkdir()
    (cli_home / ".berth" / "config").write_text("not an ini file\n")
    stderr = fails(berth_offline("ls"), "cannot read")
    assert len(stderr.splitlines()) == 1
