"""The gateway end to end: real HAProxy driven by `manage.py gateway`, real containers, the official EAS client."""

import base64
import hashlib
import hmac
import itertools
import socket
import time
from email.utils import formatdate

import pytest

from deployments.actions import lifecycle, services, workspaces
from deployments.models import Service
from tests.fixtures_gateway import deploy, echo_config, http
from tests.stack import wait_for

pytestmark = [pytest.mark.docker, pytest.mark.redis]


NAMES = itertools.count()


@pytest.fixture
def echo(local_host, alice, python_image_tag, gateway):
    """A two-instance echo service, Running and routed (a new name each time: the last test's
    containers may still be on their way out when the next test starts)."""
    return deploy(alice, echo_config(f"echo{next(NAMES)}", python_image_tag), gateway)


def eas_signature(token: str, *, body: bytes, content_type: str, date: str, resource: str) -> dict:
    md5 = hashlib.md5(body).hexdigest()
    message = f"POST\n{md5}\n{content_type}\n{date}\n{resource}"
    signature = base64.b64encode(hmac.new(token.encode(), message.encode(), hashlib.sha1).digest()).decode()
    return {"Content-MD5": md5, "Content-Type": content_type, "Date": date, "Authorization": f"EAS {signature}"}


def test_it_strips_the_prefix_and_keeps_method_query_and_body(echo, gateway):
    auth = {"Authorization": echo.token}
    response = http(gateway.predict_url(echo.name, "/v1/chat/completions?stream=false&n=2"), method="POST", body=b'{"x": 1}', headers=auth)
    assert response.status == 200
    seen = response.json()
    assert (seen["method"], seen["path"], seen["query"], seen["body"]) == ("POST", "/v1/chat/completions", "stream=false&n=2", '{"x": 1}')
    assert http(gateway.predict_url(echo.name), headers=auth).json()["path"] == "/"
    assert http(gateway.predict_url(echo.name, "/?a=b"), headers=auth).json()["query"] == "a=b"
    for method in ("PUT", "DELETE", "PATCH"):
        assert http(gateway.predict_url(echo.name, "/item/7"), method=method, headers=auth).json()["method"] == method
    # Both instances serve.
    hosts = {http(gateway.predict_url(echo.name), headers=auth).json()["hostname"] for _ in range(10)}
    assert len(hosts) == 2


def test_plain_and_bearer_tokens_pass_and_missing_wrong_or_foreign_tokens_get_401(echo, gateway, alice, python_image_tag):
    workspace = workspaces.workspace_current_ensure(user=alice)
    other, _ = services.service_create(actor=alice, workspace=workspace, config=echo_config("other", python_image_tag, instance=1))
    url = gateway.predict_url(echo.name, "/ping")
    assert http(url, headers={"Authorization": echo.token}).status == 200
    assert http(url, headers={"Authorization": f"Bearer {echo.token}"}).status == 200
    # The other service's token reaches the gateway's map within a tick; it still opens only its own service.
    time.sleep(1)
    for headers in ({}, {"Authorization": "wrong"}, {"Authorization": f"Bearer {echo.token}x"},
                    {"Authorization": other.token}, {"Authorization": f"Bearer {other.token}"}):  # fmt: skip
        response = http(url, headers=headers)
        assert response.status == 401, headers
        assert response.headers["content-type"] == "application/json"
        assert response.json()["code"] == 401


def test_unknown_service_is_401_like_a_wrong_token_and_a_service_without_ready_instances_is_503(echo, gateway, alice):
    # Names cannot be probed: an unknown one answers like a wrong token (tests/harden/test_gateway_hardening.py).
    response = http(gateway.predict_url("no_such_service", "/x"), headers={"Authorization": echo.token})
    assert response.status == 401 and "no_such_service" not in response.json()["message"]
    assert http(f"{gateway.url}/somewhere/else").status == 404

    lifecycle.service_stop(actor=alice, service=echo)

    def unavailable():
        return http(gateway.predict_url(echo.name), headers={"Authorization": echo.token}).status == 503

    wait_for(unavailable, timeout=30, what="503 once stopped")
    response = http(gateway.predict_url(echo.name), headers={"Authorization": echo.token})
    assert response.json() == {"code": 503, "message": "no healthy upstream"}
    # Without a valid token a stopped service still answers 401: its state is not revealed.
    assert http(gateway.predict_url(echo.name)).status == 401


def test_the_official_eas_client_works_signed_and_with_a_plain_token(echo, gateway, eas_client):
    signed = eas_client.predict(endpoint=gateway.url, service=echo.name, token=echo.token, body="hello eas")
    assert signed["ok"], signed
    assert '"body": "hello eas"' in signed["body"] and '"method": "POST"' in signed["body"]

    plain = eas_client.predict(
        endpoint=gateway.url, service=echo.name, token=echo.token, body="plain", custom_url=gateway.predict_url(echo.name, "/custom")
    )
    assert plain["ok"], plain
    assert '"path": "/custom"' in plain["body"]

    wrong = eas_client.predict(endpoint=gateway.url, service=echo.name, token="not-the-token", body="x")
    assert not wrong["ok"] and wrong["code"] == 401


def test_a_signature_over_the_sub_path_or_query_is_accepted_and_a_tampered_one_is_not(echo, gateway):
    body = b'{"q": 1}'
    # The clock never matters: a Date from 2019 in local time labelled GMT, as the SDKs send it.
    date = "Tue, 05 Mar 2019 10:00:00 GMT"
    base = f"/api/predict/{echo.name}"
    for resource, rest in ((base, "/v1/x"), (base + "/v1/x", "/v1/x"), (base + "/v1/x?a=1", "/v1/x?a=1")):
        headers = eas_signature(echo.token, body=body, content_type="application/json", date=date, resource=resource)
        response = http(gateway.predict_url(echo.name, rest), method="POST", body=body, headers=headers)
        assert response.status == 200, resource
    headers = eas_signature(echo.token, body=body, content_type="application/json", date=date, resource=base)
    for tampered in ({"Date": formatdate(usegmt=True)}, {"Content-Type": "text/plain"}, {"Content-MD5": "0" * 32}):
        response = http(gateway.predict_url(echo.name), method="POST", body=body, headers={**headers, **tampered})
        assert response.status == 401, tampered
    forged = eas_signature("another-token", body=body, content_type="application/json", date=date, resource=base)
    assert http(gateway.predict_url(echo.name), method="POST", body=body, headers=forged).status == 401


def test_a_rotated_token_works_at_once_and_the_old_one_stops(echo, gateway, alice):
    old = echo.token
    new = services.service_token_rotate(actor=alice, service=echo)
    started = time.monotonic()
    wait_for(lambda: http(gateway.predict_url(echo.name), headers={"Authorization": new}).status == 200, timeout=5, interval=0.05, what="new token")
    assert time.monotonic() - started < 2
    assert http(gateway.predict_url(echo.name), headers={"Authorization": old}).status == 401
    assert Service.objects.get(pk=echo.pk).token == new


def test_a_body_over_the_limit_gets_413_before_it_is_sent(echo, gateway):
    # Only the headers go out: the gateway answers from Content-Length, without reading the body.
    with socket.create_connection(("127.0.0.1", gateway.http_port), timeout=5) as sock:
        sock.sendall(
            f"POST /api/predict/{echo.name}/ HTTP/1.1\r\nHost: x\r\nAuthorization: {echo.token}\r\n"
            f"Content-Length: {1024 * 1024 + 1}\r\n\r\n".encode()
        )
        answer = sock.recv(65536).decode()
    assert answer.startswith("HTTP/1.1 413") and '"code": 413' in answer
    assert http(gateway.predict_url(echo.name), method="POST", body=b"x" * 1000, headers={"Authorization": echo.token}).status == 200


def test_tokens_stay_out_of_the_config_and_the_log_and_files_are_private(echo, gateway):
    directory = gateway.directory
    assert oct(directory.stat().st_mode & 0o777) == "0o700"
    for name in ("tokens.map", "haproxy.cfg", "grpc.map"):
        assert oct((directory / name).stat().st_mode & 0o777) == "0o600", name
    assert echo.token not in (directory / "haproxy.cfg").read_text()
    assert f"{echo.name} {echo.token}" in (directory / "tokens.map").read_text()
    http(gateway.predict_url(echo.name, "/?secret=1"), headers={"Authorization": echo.token})
    from tests.stack import VAR

    assert echo.token not in (VAR / "test-gateway.log").read_text()
