"""Safe defaults: generated keys in private files, DEBUG off, ALLOWED_HOSTS from the bind address,
production refusing weak keys. Settings are loaded in subprocesses pointed at temporary var/ dirs."""

import json
import stat
import subprocess
import sys

from tests.operations.conftest import ROOT, installation_env, run

SHOW = (
    "import json; from console import settings as s; print(json.dumps({'secret': s.SECRET_KEY, "
    "'enc': s.BERTH_ENCRYPTION_KEY, 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS, "
    "'legacy': s.BERTH_ENCRYPTION_LEGACY_KEYS, 'old': s.BERTH_ENCRYPTION_OLD_KEYS}))"
)
OLD_CONSTANT = "berth-development-only-secret-key-do-not-use-in-production"


def load(var_dir, **extra) -> dict:
    return json.loads(run(["-c", SHOW], installation_env(var_dir, **extra)).stdout)


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_first_load_creates_private_key_files_and_later_loads_reuse_them(tmp_path):
    var = tmp_path / "var"
    first = load(var)
    assert mode(var) == 0o700
    for name in ("secret_key", "encryption_key"):
        assert mode(var / name) == 0o600
    assert len(first["secret"]) >= 32 and len(first["enc"]) >= 32
    assert first["secret"] != first["enc"], "the encryption key must not be SECRET_KEY"
    assert OLD_CONSTANT not in (first["secret"], first["enc"])
    assert (var / "secret_key").read_text().strip() == first["secret"]
    second = load(var)
    assert (second["secret"], second["enc"]) == (first["secret"], first["enc"])


def test_an_existing_open_var_dir_and_database_file_become_private(tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    var.chmod(0o755)
    database = var / "berth.sqlite3"
    database.touch()
    database.chmod(0o644)
    load(var)
    assert mode(var) == 0o700
    assert mode(database) == 0o600


def test_a_new_database_file_is_created_private_before_sqlite_opens_it(tmp_path):
    var = tmp_path / "var"
    run(["manage.py", "migrate", "--noinput", "-v0"], installation_env(var))
    assert mode(var / "berth.sqlite3") == 0o600


def test_keys_given_in_the_environment_or_a_file_win_over_key_files(tmp_path):
    key_file = tmp_path / "enc"
    key_file.write_text("k" * 40 + "\n")
    loaded = load(tmp_path / "var", SECRET_KEY="s" * 40, BERTH_ENCRYPTION_KEY_FILE=str(key_file))
    assert (loaded["secret"], loaded["enc"]) == ("s" * 40, "k" * 40)
    assert not (tmp_path / "var" / "encryption_key").exists()
    assert loaded["legacy"] == [], "old defaults are only tried when the key comes from the key file"


def test_concurrent_first_loads_agree_on_one_key(tmp_path):
    var = tmp_path / "var"
    env = installation_env(var)
    procs = [
        subprocess.Popen([sys.executable, "-c", SHOW], cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        for _ in range(6)
    ]
    keys = {(d["secret"], d["enc"]) for d in (json.loads(p.communicate(timeout=60)[0]) for p in procs)}
    assert len(keys) == 1
    assert [p.name for p in var.iterdir() if p.name.startswith(".key-")] == []


def test_debug_is_off_unless_asked_for(tmp_path):
    assert load(tmp_path / "var")["debug"] is False
    assert load(tmp_path / "var", DEBUG="1")["debug"] is True


def test_allowed_hosts_follow_the_bind_address_unless_set(tmp_path):
    default = load(tmp_path / "var")["hosts"]
    assert "*" not in default
    assert {"localhost", "127.0.0.1"} <= set(default)
    bound = load(tmp_path / "var", BERTH_BIND="10.1.2.3:8080")["hosts"]
    assert "10.1.2.3" in bound and "*" not in bound
    assert load(tmp_path / "var", ALLOWED_HOSTS="berth.example.com")["hosts"] == ["berth.example.com"]


def production(tmp_path, **extra) -> subprocess.CompletedProcess:
    return run(["-c", SHOW], installation_env(tmp_path / "var", BERTH_ENV="production", **extra), check=False)


def test_production_refuses_the_old_constant_as_secret_key(tmp_path):
    done = production(tmp_path, SECRET_KEY=OLD_CONSTANT)
    assert done.returncode != 0
    assert "SECRET_KEY is a published example or old default value" in done.stderr


def test_production_refuses_short_keys(tmp_path):
    done = production(tmp_path, SECRET_KEY="x" * 40, BERTH_ENCRYPTION_KEY="short-key")
    assert done.returncode != 0
    assert "BERTH_ENCRYPTION_KEY is 9 characters long" in done.stderr
    assert "short-key" not in done.stderr, "the message must not echo the key"


def test_production_refuses_to_run_without_a_secret_key(tmp_path):
    done = production(tmp_path)
    assert done.returncode != 0
    assert "SECRET_KEY must be set" in done.stderr


def test_production_accepts_strong_keys(tmp_path):
    done = production(tmp_path, SECRET_KEY="a-strong-secret-key-" + "x" * 30)
    assert done.returncode == 0, done.stderr
    assert len(json.loads(done.stdout)["enc"]) >= 32  # generated into the key file
