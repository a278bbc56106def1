"""Rendering HAProxy's config from a state: valid for HAProxy itself, tokens only in the map file."""

import subprocess
from pathlib import Path

import pytest

from deployments.gateway import render
from deployments.gateway.haproxy import cli_escape
from deployments.gateway.state import GatewayState, Route, Server, route_settings


def a_state() -> GatewayState:
    return GatewayState(
        routes={
            "plain_svc": Route(name="plain_svc", timeout_ms=600000),
            "limited": Route(name="limited", timeout_ms=1500, rate_limit=10, concurrency_limit=3),
            "grpc_svc": Route(name="grpc_svc", grpc=True, timeout_ms=600000),
        },
        tokens={"plain_svc": "tok-plain", "limited": "tok-limited", "grpc_svc": "tok-grpc", "odd": "has space"},
        servers={
            "plain_svc": {
                "i1": Server("i1", "plain_svc-v1-0", "127.0.0.1", 32001, True),
                "i2": Server("i2", "plain_svc-v1-1", "127.0.0.1", 32002, False),
            },
            "limited": {},
            "grpc_svc": {"i3": Server("i3", "grpc_svc-v1-0", "10.0.0.5", 32003, True)},
        },
    )


def test_the_rendered_config_is_valid_for_haproxy_and_holds_no_token(tmp_path: Path):
    options = render.Options(directory=tmp_path, tls_cert="")
    state = a_state()
    (tmp_path / "tokens.map").write_text(render.render_tokens_map(state))
    (tmp_path / "grpc.map").write_text(render.render_grpc_map(state))
    config = render.render_config(state, options)
    (tmp_path / "haproxy.cfg").write_text(config)
    result = subprocess.run(
        ["/usr/sbin/haproxy", "-c", "-f", str(tmp_path / "haproxy.cfg")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for token in state.tokens.values():
        assert token not in config
    assert "server i2 127.0.0.1:32002 disabled" in config
    assert "server i3 10.0.0.5:32003 proto h2" in config
    assert "timeout server 1500ms" in config and "sc_http_req_rate(0) gt 10" in config and "be_conn() gt 3" in config
    assert "%U" in render.LOG_FORMAT and "hdr" not in render.LOG_FORMAT and "%r" not in render.LOG_FORMAT


def test_maps_hold_tokens_and_grpc_host_labels():
    state = a_state()
    assert render.render_tokens_map(state) == "grpc_svc tok-grpc\nlimited tok-limited\nplain_svc tok-plain\n"
    assert render.render_grpc_map(state) == "grpc_svc grpc_svc\ngrpc-svc grpc_svc\n"
    assert cli_escape("a b;c\\") == "a\\ b\\;c\\\\"


def test_only_route_changes_need_a_reload(tmp_path: Path):
    options = render.Options(directory=tmp_path)
    state, other = a_state(), a_state()
    other.tokens["plain_svc"] = "rotated"
    other.servers["plain_svc"]["i9"] = Server("i9", "x", "127.0.0.1", 1, True)
    assert render.static_key(state, options) == render.static_key(other, options)
    other.routes["plain_svc"] = Route(name="plain_svc", timeout_ms=1000)
    assert render.static_key(state, options) != render.static_key(other, options)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({}, Route(name="s", timeout_ms=600000)),
        ({"metadata": {"enable_grpc": True, "rpc": {"keepalive": 5000}}}, Route(name="s", grpc=True, timeout_ms=5000)),
        ({"networking": {"gateway_policy": {"rate_limit": {"enable": True, "limit": 7}, "concurrency_limit": {"enable": False, "limit": 3}}}},
         Route(name="s", timeout_ms=600000, rate_limit=7)),
    ],
)  # fmt: skip
def test_route_settings_come_from_the_service_config(config, expected):
    assert route_settings("s", config) == expected


def test_both_frontends_sample_their_log_lines_only_under_heavy_load(tmp_path: Path):
    config = render.render_config(a_state(), render.Options(directory=tmp_path, tls_cert=""))
    rule = f"set-log-level silent if {{ fe_req_rate gt {render.LOG_FULL_RATE} }} {{ rand({render.LOG_SAMPLE_EVERY}) gt 0 }}"
    frontends = config.split("\nfrontend ")[1:]
    assert [name.split("\n", 1)[0] for name in frontends] == ["http", "grpc"]
    assert all(rule in section.split("\nbackend ")[0] for section in frontends)
