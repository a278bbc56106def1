"""Gateway hardening end to end (real HAProxy): signatures bind method and body, names cannot be probed."""

import base64
import hashlib
import hmac
import itertools
import socket

import pytest

from tests.fixtures_gateway import deploy, echo_config, http

pytestmark = [pytest.mark.docker, pytest.mark.redis]

NAMES = itertools.count()
DATE = "Tue, 05 Mar 2019 10:00:00 GMT"


@pytest.fixture
def echo(local_host, alice, python_image_tag, gateway):
    return deploy(alice, echo_config(f"hard{next(NAMES)}", python_image_tag, instance=1), gateway)


def signed(token: str, *, body: bytes, method: str = "POST", resource: str, md5: str | None = None) -> dict:
    md5 = hashlib.md5(body).hexdigest() if md5 is None else md5
    message = f"{method}\n{md5}\napplication/json\n{DATE}\n{resource}"
    signature = base64.b64encode(hmac.new(token.encode(), message.encode(), hashlib.sha1).digest()).decode()
    return {"Content-MD5": md5, "Content-Type": "application/json", "Date": DATE, "Authorization": f"EAS {signature}"}


def test_a_captured_signature_does_not_authorise_another_body(echo, gateway):
    body = b'{"q": 1}'
    headers = signed(echo.token, body=body, resource=f"/api/predict/{echo.name}")
    url = gateway.predict_url(echo.name)
    assert http(url, method="POST", body=body, headers=headers).status == 200
    replay = http(url, method="POST", body=b'{"q": 2}', headers=headers)
    assert replay.status == 401 and replay.headers["content-type"] == "application/json"
    assert replay.json()["code"] == 401


def test_a_captured_signature_does_not_authorise_another_method(echo, gateway):
    body = b'{"q": 1}'
    headers = signed(echo.token, body=body, resource=f"/api/predict/{echo.name}")
    url = gateway.predict_url(echo.name)
    for method in ("PUT", "DELETE", "PATCH"):
        assert http(url, method=method, body=body, headers=headers).status == 401, method


def test_a_request_signed_with_its_own_method_and_an_empty_body_passes(echo, gateway):
    headers = signed(echo.token, body=b"", method="GET", resource=f"/api/predict/{echo.name}")
    assert http(gateway.predict_url(echo.name), headers=headers).status == 200


def test_an_md5_without_leading_zeros_as_the_java_sdk_sends_it_passes(echo, gateway):
    body = next(b for b in (f'{{"n": {i}}}'.encode() for i in range(10_000)) if hashlib.md5(b).hexdigest()[0] == "0")
    md5 = hashlib.md5(body).hexdigest().lstrip("0")
    headers = signed(echo.token, body=body, resource=f"/api/predict/{echo.name}", md5=md5)
    assert http(gateway.predict_url(echo.name), method="POST", body=body, headers=headers).status == 200


def _chunked(gateway, path: str, headers: dict, chunks: list[bytes]) -> str:
    with socket.create_connection(("127.0.0.1", gateway.http_port), timeout=10) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n{head}\r\n".encode())
        for chunk in chunks:
            sock.sendall(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        sock.sendall(b"0\r\n\r\n")
        return sock.recv(65536).decode(errors="replace")


def test_a_chunked_signed_body_must_match_its_content_md5(echo, gateway):
    body = b'{"q": 1}'
    headers = signed(echo.token, body=body, resource=f"/api/predict/{echo.name}")
    path = f"/api/predict/{echo.name}/"
    assert _chunked(gateway, path, headers, [body[:4], body[4:]]).startswith("HTTP/1.1 200")
    assert _chunked(gateway, path, headers, [b'{"q": 2}']).startswith("HTTP/1.1 401")


def test_an_unknown_service_answers_exactly_like_a_wrong_token(echo, gateway):
    unknown = http(gateway.predict_url("no_such_service", "/x"), headers={"Authorization": echo.token})
    wrong = http(gateway.predict_url(echo.name, "/x"), headers={"Authorization": "wrong"})
    assert unknown.status == wrong.status == 401
    assert unknown.body == wrong.body
    assert unknown.headers["content-type"] == wrong.headers["content-type"]
