"""Validation holes found in the security review ("Tenants cannot touch each other"), each closed by the spec.

Every test here failed before its fix: the config was accepted, or accepted in a form that
leaked or broke later (the engine raising at every convergence, a password shown to viewers).
"""

import json
import re

import pytest

from deployments.spec import (
    MAX_INSTANCES,
    SECRET_MASK,
    TOKEN_MIN_LENGTH,
    mask_secrets,
    service_config_json_schema,
    split_secrets,
    validate_config,
)


def minimal(**top) -> dict:
    config = {
        "name": "demo_service",
        "containers": [{"image": "registry.example.com/team/app:1.0", "command": "python app.py", "port": 8000}],
        "metadata": {"instance": 1},
    }
    config.update(top)
    return config


def with_container(**keys) -> dict:
    config = minimal()
    config["containers"][0].update(keys)
    return config


def with_mount(**mount) -> dict:
    return minimal(storage=[mount])


def the_error(config: object, path: str) -> str:
    """The one error at `path`; the config must be rejected."""
    result = validate_config(config)
    assert result.config is None, "the config was accepted"
    messages = [issue["message"] for issue in result.errors if issue["path"] == path]
    assert len(messages) == 1, result.errors
    return messages[0]


def accepted(config: object) -> dict:
    result = validate_config(config)
    assert result.errors == [], result.errors
    return result.config


# --- 1. command and image ----------------------------------------------------------------------


@pytest.mark.parametrize("command", ["sh -c 'unterminated", 'python -c "print(1)', "echo trailing\\"])
def test_a_command_that_cannot_be_split_into_words_is_refused_where_it_was_written(command):
    config = minimal(containers=[{"image": "busybox", "script": "true"}, {"image": "busybox", "command": command}])
    config["containers"][0]["port"] = 8000

    message = the_error(config, "containers[1].command")

    assert message.startswith("cannot be split into words (")
    assert "script" in message


def test_a_command_of_blanks_only_is_refused():
    assert the_error(with_container(command="   "), "containers[0].command").startswith("must name the program")


def test_a_command_with_balanced_quotes_is_kept_as_written():
    config = accepted(with_container(command="sh -c 'python app.py --port 8000'"))
    assert config["containers"][0]["command"] == "sh -c 'python app.py --port 8000'"


@pytest.mark.parametrize("image", ["Accept/busybox:1", "Team/app", "ACCEPT/busybox"])
def test_an_uppercase_repository_component_is_refused_even_first(image):
    message = the_error(with_container(image=image), "containers[0].image")
    assert "must be lowercase" in message


@pytest.mark.parametrize(
    "image",
    [
        "busybox",
        "team/app:1.0",
        "my-registry/app",
        "localhost/app",
        "localhost:5000/app:1",
        "registry:5000/team/app",
        "Registry.Example.com/team/app:1.0",
        "[::1]:5000/app",
    ],
)
def test_registry_hosts_and_lowercase_repositories_stay_valid(image):
    assert accepted(with_container(image=image))["containers"][0]["image"] == image


def test_the_schema_pattern_refuses_an_uppercase_first_component_too():
    pattern = service_config_json_schema()["$defs"]["Container"]["properties"]["image"]["pattern"]
    assert re.search(pattern, "accept/busybox:1")
    assert not re.search(pattern, "Accept/busybox:1")


# --- 2. instance count -------------------------------------------------------------------------


def test_more_instances_than_the_bound_are_refused_at_metadata_instance():
    config = minimal(metadata={"instance": MAX_INSTANCES + 1})
    assert the_error(config, "metadata.instance") == f"must be at most {MAX_INSTANCES}"


def test_the_bound_itself_is_accepted():
    assert MAX_INSTANCES == 100
    assert accepted(minimal(metadata={"instance": MAX_INSTANCES}))["metadata"]["instance"] == MAX_INSTANCES


def test_a_huge_instance_count_is_refused():
    assert the_error(minimal(metadata={"instance": 2**31 - 1}), "metadata.instance").startswith("must be at most")


# --- 3. credentials in a git URL ---------------------------------------------------------------


def git_mount(**git) -> dict:
    return {"mount_path": "/code", "git": git}


def test_credentials_in_a_git_url_move_to_username_and_password_with_a_warning():
    result = validate_config(with_mount(**git_mount(repo="https://robot:s3cret-pw@git.example.com/team/repo.git")))

    assert result.errors == []
    git = result.config["storage"][0]["git"]
    assert git == {"repo": "https://git.example.com/team/repo.git", "username": "robot", "password": "s3cret-pw"}
    [warning] = [w for w in result.warnings if w["path"] == "storage[0].git.repo"]
    assert "git.username and git.password" in warning["message"]
    assert "s3cret-pw" not in json.dumps(result.warnings)


def test_the_moved_password_is_a_secret_masked_and_split_out():
    config = accepted(with_mount(**git_mount(repo="https://robot:s3cret-pw@git.example.com/repo.git")))

    public, secrets = split_secrets(config)

    assert "s3cret-pw" not in json.dumps(public)
    assert "s3cret-pw" not in json.dumps(mask_secrets(config))
    assert secrets == {"storage[0].git.password": "s3cret-pw"}
    assert public["storage"][0]["git"]["password"] == SECRET_MASK


def test_percent_escapes_in_url_credentials_are_decoded():
    config = accepted(with_mount(**git_mount(repo="https://us%40er:p%3Ass%2Fw@git.example.com:8443/r.git")))
    assert config["storage"][0]["git"] == {
        "repo": "https://git.example.com:8443/r.git",
        "username": "us@er",
        "password": "p:ss/w",
    }


def test_a_url_with_a_user_only_moves_the_user():
    config = accepted(with_mount(**git_mount(repo="https://robot@git.example.com/r.git")))
    assert config["storage"][0]["git"] == {"repo": "https://git.example.com/r.git", "username": "robot"}


def test_the_same_credentials_in_the_url_and_beside_it_are_accepted():
    mount = git_mount(repo="https://robot:pw-1@git.example.com/r.git", username="robot", password="pw-1")
    config = accepted(with_mount(**mount))
    assert config["storage"][0]["git"]["repo"] == "https://git.example.com/r.git"


def test_a_url_password_that_differs_from_git_password_is_refused_with_advice():
    mount = git_mount(repo="https://robot:pw-1@git.example.com/r.git", password="pw-2")
    message = the_error(with_mount(**mount), "storage[0].git.password")
    assert "remove them from the URL" in message
    assert "pw-1" not in message and "pw-2" not in message


def test_a_url_user_that_differs_from_git_username_is_refused():
    mount = git_mount(repo="https://robot:pw@git.example.com/r.git", username="someone")
    assert "differs from the user name in the repo URL" in the_error(with_mount(**mount), "storage[0].git.username")


def test_moving_git_credentials_does_not_modify_the_callers_config():
    config = with_mount(**git_mount(repo="https://robot:pw@git.example.com/r.git"))
    before = json.dumps(config)
    validate_config(config)
    assert json.dumps(config) == before


def test_a_git_url_without_credentials_gives_no_warning():
    result = validate_config(with_mount(**git_mount(repo="https://git.example.com/r.git")))
    assert result.ok and result.warnings == []


# --- 4. option injection and paths -------------------------------------------------------------


@pytest.mark.parametrize("key", ["branch", "commit"])
@pytest.mark.parametrize("value", ["-u", "--upload-pack=touch /tmp/x"])
def test_a_git_branch_or_commit_starting_with_a_dash_is_refused(key, value):
    mount = git_mount(repo="https://git.example.com/r.git", **{key: value})
    assert "must not start with '-'" in the_error(with_mount(**mount), f"storage[0].git.{key}")


def test_a_git_branch_with_a_dash_inside_is_fine():
    accepted(with_mount(**git_mount(repo="https://git.example.com/r.git", branch="release-1.2")))


@pytest.mark.parametrize(
    ("nfs", "path"),
    [
        ({"server": "nas.example.com,addr=10.0.0.1", "path": "/share"}, "storage[0].nfs.server"),
        ({"server": "nas.example.com", "path": "/share,vers=3"}, "storage[0].nfs.path"),
    ],
)
def test_commas_in_nfs_server_or_path_are_refused(nfs, path):
    assert "must not contain ','" in the_error(with_mount(mount_path="/data", nfs=nfs), path)


@pytest.mark.parametrize("mount_path", ["/../../etc", "/models/../etc", "/a/.."])
def test_a_mount_path_with_dot_dot_is_refused(mount_path):
    config = with_mount(mount_path=mount_path, empty_dir={})
    assert "must not contain '..'" in the_error(config, "storage[0].mount_path")


def test_an_image_mount_path_with_dot_dot_is_refused():
    mount = {"mount_path": "/models", "image": {"image": "registry.example.com/m:1", "path": "/data/../../etc"}}
    assert "must not contain '..'" in the_error(with_mount(**mount), "storage[0].image.path")


def test_an_image_mount_path_must_be_absolute():
    mount = {"mount_path": "/models", "image": {"image": "registry.example.com/m:1", "path": "data"}}
    assert "absolute" in the_error(with_mount(**mount), "storage[0].image.path")


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("//models", "/models"),
        ("/models/./v1", "/models/v1"),
        ("/models//v1/", "/models/v1/"),
        ("/models/", "/models/"),
    ],
)
def test_mount_paths_are_normalised(written, stored):
    config = accepted(with_mount(mount_path=written, empty_dir={}))
    assert config["storage"][0]["mount_path"] == stored


def test_an_image_mount_path_is_normalised():
    mount = {"mount_path": "/models", "image": {"image": "registry.example.com/m:1", "path": "//data/./m"}}
    assert accepted(with_mount(**mount))["storage"][0]["image"]["path"] == "/data/m"


def test_a_mount_path_that_normalises_to_the_root_is_refused():
    assert "root" in the_error(with_mount(mount_path="//./", empty_dir={}), "storage[0].mount_path")


def test_two_spellings_of_one_mount_path_are_duplicates():
    config = minimal(storage=[{"mount_path": "/cache", "empty_dir": {}}, {"mount_path": "//cache/.", "empty_dir": {}}])
    assert "duplicate mount path" in the_error(config, "storage[1].mount_path")


# --- 5. token length ---------------------------------------------------------------------------


def test_a_short_user_given_token_is_refused_at_token():
    message = the_error(minimal(token="x" * (TOKEN_MIN_LENGTH - 1)), "token")
    assert message.startswith(f"must be at least {TOKEN_MIN_LENGTH} characters")


def test_a_token_of_the_minimum_length_is_accepted():
    assert TOKEN_MIN_LENGTH == 16
    assert accepted(minimal(token="x" * TOKEN_MIN_LENGTH))["token"] == "x" * TOKEN_MIN_LENGTH


# --- 6. deep nesting ---------------------------------------------------------------------------


@pytest.mark.parametrize("depth", [65, 900, 5000])
def test_deep_nesting_is_an_error_not_an_exception(depth):
    deep: object = "leaf"
    for _ in range(depth):
        deep = {"a": deep}
    result = validate_config(minimal(labels=deep))
    assert result.config is None
    [error] = result.errors
    assert "nested too deeply" in error["message"]
