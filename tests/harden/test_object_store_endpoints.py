"""Object-store endpoints cannot reach the installation or the machine's private services (SSRF)."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from deployments.actions import object_stores
from deployments.errors import ConfigInvalid
from deployments.models.storage import ObjectStore
from deployments.storage import endpoints, s3
from deployments.runtime import RuntimeFailure

KEYS = {"access_key_id": "AKIAEXAMPLE123456", "secret_access_key": "secret-example-key"}


@pytest.fixture(autouse=True)
def _no_allowance(settings):
    # tests/fixtures_storage.py allows loopback for the moto server; these tests run without that escape.
    settings.BERTH_OBJECT_STORE_ALLOW = []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:6379",
        "http://localhost:8000",
        "http://169.254.169.254",
        "http://0.0.0.0:9000",
        "http://[::1]:9000",
        "http://[::ffff:127.0.0.1]:9000",
        "http://127.1:6379",
    ],
)
def test_loopback_link_local_and_unspecified_endpoints_are_refused(url):
    with pytest.raises(endpoints.EndpointRefused, match="BERTH_OBJECT_STORE_ALLOW"):
        endpoints.check_endpoint(url)


def test_the_installations_own_listeners_are_refused_on_their_ports_only(settings):
    settings.BERTH_GATEWAY_BIND = "10.11.12.13"
    settings.REDIS_URL = "redis://10.11.12.14:6390/0"
    settings.BERTH_CONSOLE_BIND = "10.11.12.15:8000"
    for url in ("http://10.11.12.13:9000", "http://10.11.12.14:6390", "http://10.11.12.15:8000"):
        with pytest.raises(endpoints.EndpointRefused, match="own services"):
            endpoints.check_endpoint(url)
    endpoints.check_endpoint("http://10.11.12.13:9100")
    endpoints.check_endpoint("https://10.11.12.14")


@pytest.mark.parametrize("allow", [["127.0.0.1"], ["127.0.0.1:6379"], ["127.0.0.0/8"], ["localhost"]])
def test_an_administrator_can_allow_an_endpoint_by_host_host_port_or_cidr(settings, allow):
    settings.BERTH_OBJECT_STORE_ALLOW = allow
    url = "http://localhost:6379" if allow == ["localhost"] else "http://127.0.0.1:6379"
    endpoints.check_endpoint(url)


def test_an_allowance_for_one_port_does_not_open_others(settings):
    settings.BERTH_OBJECT_STORE_ALLOW = ["127.0.0.1:9999"]
    with pytest.raises(endpoints.EndpointRefused):
        endpoints.check_endpoint("http://127.0.0.1:6379")


def test_the_worker_refuses_to_connect_at_use_time_too():
    # A connection saved while allowed (or a mount's oss.endpoint) is checked again before every use.
    with pytest.raises(RuntimeFailure, match="not allowed"):
        s3.client_for(
            endpoint="http://127.0.0.1:6379", region="", addressing_style="path", ca_bundle=None, pool=1, **KEYS
        )


def test_an_unresolvable_name_reads_like_any_other_network_failure():
    with pytest.raises(endpoints.EndpointRefused) as refused:
        endpoints.check_endpoint("http://no-such-host.invalid:9000")
    assert str(refused.value) == "cannot reach the object store at http://no-such-host.invalid:9000"


@pytest.mark.django_db
def test_the_api_refuses_a_loopback_endpoint_with_400_naming_the_field(alice_api, team):
    url = reverse("api-object-stores", args=[team.slug])
    response = alice_api.post(url, {"name": "redis", "endpoint_url": "http://127.0.0.1:6379", **KEYS}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][0]["path"] == "endpoint_url"
    assert not ObjectStore.objects.filter(name="redis").exists()


@pytest.mark.django_db
def test_changing_the_endpoint_requires_the_keys_again(alice, alice_api, team):
    object_stores.object_store_create(
        actor=alice, workspace=team, name="oss", endpoint_url="https://s3.example.com", **KEYS
    )
    url = reverse("api-object-store", args=[team.slug, "oss"])
    response = alice_api.patch(url, {"endpoint_url": "https://evil.example.net"}, format="json")
    assert response.status_code == 400
    assert sorted(e["path"] for e in response.json()["errors"]) == ["access_key_id", "secret_access_key"]
    assert ObjectStore.objects.get(name="oss").endpoint_url == "https://s3.example.com"
    response = alice_api.patch(url, {"endpoint_url": "https://evil.example.net", **KEYS}, format="json")
    assert response.status_code == 200
    # The same endpoint, or other fields, need no keys.
    assert (
        alice_api.patch(url, {"endpoint_url": "https://evil.example.net", "region": "x"}, format="json").status_code
        == 200
    )


@pytest.mark.django_db
def test_a_connection_cannot_be_repointed_at_a_loopback_address(alice, team):
    store = object_stores.object_store_create(
        actor=alice, workspace=team, name="oss", endpoint_url="https://s3.example.com", **KEYS
    )
    with pytest.raises(ConfigInvalid) as invalid:
        object_stores.object_store_update(actor=alice, store=store, endpoint_url="http://127.0.0.1:6379", **KEYS)
    assert invalid.value.errors[0]["path"] == "endpoint_url"


class _NotS3(BaseHTTPRequestHandler):
    status = 302  # the console itself answers S3's ListBuckets (GET /) with a redirect to its login page

    def do_GET(self):
        body = b"<html><body>hello, I am not S3</body></html>"
        self.send_response(self.status)
        self.send_header("Location", "/accounts/login/?next=/")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(params=[302, 200])
def not_s3(request):
    handler = type("Handler", (_NotS3,), {"status": request.param})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.mark.django_db
def test_checking_a_non_s3_endpoint_is_a_400_with_the_uniform_message(alice, alice_api, team, not_s3, settings):
    settings.BERTH_OBJECT_STORE_ALLOW = ["127.0.0.1"]
    object_stores.object_store_create(actor=alice, workspace=team, name="web", endpoint_url=not_s3, **KEYS)
    response = alice_api.post(reverse("api-object-store-check", args=[team.slug, "web"]), {}, format="json")
    assert response.status_code == 400
    assert response.json()["message"].startswith(f"cannot reach the object store at {not_s3}")


@pytest.mark.django_db
def test_refused_and_silent_ports_give_the_same_message(alice, alice_api, team, settings):
    from tests import stack

    settings.BERTH_OBJECT_STORE_ALLOW = ["127.0.0.1", "192.0.2.1"]
    closed = f"http://127.0.0.1:{stack.free_port()}"
    messages = []
    for name, endpoint in (("closed", closed), ("silent", "http://192.0.2.1:9")):
        object_stores.object_store_create(actor=alice, workspace=team, name=name, endpoint_url=endpoint, **KEYS)
        result = alice_api.post(reverse("api-object-store-check", args=[team.slug, name]), {}, format="json").json()
        messages.append(result["message"].replace(endpoint, "<endpoint>").replace(name, "<name>"))
    assert messages[0] == messages[1]
