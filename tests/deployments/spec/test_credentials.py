"""One reading of inline credentials (dockerAuth, git URL user info) and one list of mount types, shared by
the spec, deployments.registries, deployments.storage and the service form."""

import base64

import pytest

from console.forms import service as service_form
from deployments.spec import (
    HOST_PATH,
    STORAGE_TYPES,
    DockerAuthError,
    decode_docker_auth,
    encode_docker_auth,
    url_credentials,
    validate_config,
)
from deployments.storage.mounts import kind_of


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_docker_auth_decodes_to_user_and_password_and_keeps_colons_in_the_password():
    assert decode_docker_auth(b64("robot:pa:ss")) == ("robot", "pa:ss")
    assert decode_docker_auth(encode_docker_auth("robot", "")) == ("robot", "")


@pytest.mark.parametrize(
    ("value", "reason"),
    [("not base64!", "not valid base64"), (b64("no-colon"), "without a ':'"), (b64(":pw"), "user name")],
)
def test_docker_auth_that_is_not_user_colon_password_says_why(value, reason):
    with pytest.raises(DockerAuthError, match=reason):
        decode_docker_auth(value)


def test_the_spec_and_the_form_read_docker_auth_alike():
    value = b64("robot:pw")
    config = {
        "name": "demo_service",
        "dockerAuth": value,
        "containers": [{"image": "registry.example.com/app:1", "command": "run", "port": 8000}],
        "metadata": {"instance": 1},
    }
    assert validate_config(config).ok
    assert service_form._decode_docker_auth(value) == ("robot", "pw")
    assert service_form._decode_docker_auth(b64(":pw")) is None
    assert not validate_config({**config, "dockerAuth": b64(":pw")}).ok


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://git.example.com/r.git", ("https://git.example.com/r.git", None, None)),
        ("https://u:p@git.example.com/r.git", ("https://git.example.com/r.git", "u", "p")),
        ("https://u@git.example.com:8443/r.git?x=1", ("https://git.example.com:8443/r.git?x=1", "u", None)),
        ("https://u:@h/r", ("https://h/r", "u", "")),
        ("https://a%40b:c%23d@h/r", ("https://h/r", "a@b", "c#d")),
    ],
)
def test_url_credentials_splits_the_user_info_off(url, expected):
    assert url_credentials(url) == expected


def test_the_form_and_the_mount_code_use_the_spec_list_of_mount_types():
    assert set(service_form.STORAGE_FIELDS) <= {*STORAGE_TYPES, HOST_PATH}
    assert set(service_form.ALL_STORAGE_TYPE_KEYS) == {*STORAGE_TYPES, HOST_PATH}
    assert [kind_of({"mount_path": "/x", kind: {}}) for kind in STORAGE_TYPES] == list(STORAGE_TYPES)
