"""WebSocket and gRPC (h2c) through the gateway."""

import base64
import os
import socket

import grpc
import pytest

from tests.fixtures_gateway import deploy, echo_config

pytestmark = [pytest.mark.docker, pytest.mark.redis]


def ws_frame(text: str) -> bytes:
    """A masked client text frame (clients must mask)."""
    data, mask = text.encode(), os.urandom(4)
    return bytes([0x81, 0x80 | len(data)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


def ws_read(sock: socket.socket) -> str:
    head = sock.recv(2)
    length = head[1] & 0x7F
    data = b""
    while len(data) < length:
        data += sock.recv(length - len(data))
    return data.decode()


def test_a_websocket_upgrade_passes_through_and_echoes(local_host, alice, python_image_tag, gateway):
    service = deploy(alice, echo_config("ws", python_image_tag, instance=1), gateway)
    key = base64.b64encode(os.urandom(16)).decode()
    with socket.create_connection(("127.0.0.1", gateway.http_port), timeout=5) as sock:
        sock.sendall(
            f"GET /api/predict/{service.name}/ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {service.token}\r\n\r\n".encode()
        )
        handshake = b""
        while b"\r\n\r\n" not in handshake:
            handshake += sock.recv(1)
        assert handshake.startswith(b"HTTP/1.1 101"), handshake
        for text in ("hello", "second message"):
            sock.sendall(ws_frame(text))
            assert ws_read(sock) == f"echo: {text}"
    # Without the token the upgrade is refused.
    with socket.create_connection(("127.0.0.1", gateway.http_port), timeout=5) as sock:
        sock.sendall(
            f"GET /api/predict/{service.name}/ws HTTP/1.1\r\nHost: gw\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 401")


def test_a_grpc_service_answers_unary_and_streaming_calls_routed_by_host_name(
    local_host, alice, python_image_tag, gateway
):
    service = deploy(alice, echo_config("grpc_echo", python_image_tag, instance=2, grpc=True), gateway)
    # "<service>.<domain>" with "-" for "_": a DNS label cannot hold "_".
    authority = f"{service.name.replace('_', '-')}.grpc.example.test"
    metadata = (("authorization", f"Bearer {service.token}"),)
    with grpc.insecure_channel(
        f"127.0.0.1:{gateway.grpc_port}", options=[("grpc.default_authority", authority)]
    ) as channel:
        say = channel.unary_unary("/echo.Echo/Say")
        count = channel.unary_stream("/echo.Echo/Count")
        assert say(b"hi", metadata=metadata, timeout=10) == b"echo: hi"
        assert list(count(b"4", metadata=metadata, timeout=10)) == [b"item 0", b"item 1", b"item 2", b"item 3"]
        with pytest.raises(grpc.RpcError) as denied:
            say(b"hi", metadata=(("authorization", "Bearer wrong"),), timeout=10)
        assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with grpc.insecure_channel(
        f"127.0.0.1:{gateway.grpc_port}", options=[("grpc.default_authority", "nope.grpc.example.test")]
    ) as channel:
        with pytest.raises(grpc.RpcError) as unknown:
            channel.unary_unary("/echo.Echo/Say")(b"hi", metadata=metadata, timeout=10)
        assert unknown.value.code() == grpc.StatusCode.UNIMPLEMENTED
