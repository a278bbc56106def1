"""Console pages and POSTs, with the personas: alice owns `team`, bob views it, charlie is outside it."""

import copy

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from deployments.actions.api_keys import api_key_create
from deployments.actions.credentials import registry_credential_create
from deployments.actions.services import service_create
from deployments.actions.workspaces import workspace_create
from deployments.choices import Role
from deployments.models import ApiKey, Membership, Profile, RegistryCredential, Service
from tests.conftest import FLASK_CONFIG

pytestmark = pytest.mark.django_db


@pytest.fixture
def service(alice, team, flask_config):
    created, _ = service_create(actor=alice, workspace=team, config=flask_config)
    return created


@pytest.fixture
def credential(alice, team):
    return registry_credential_create(
        actor=alice, workspace=team, name="team-registry", registry="registry.example.com:5000",
        username="bot", password="hunter2-registry",
    )  # fmt: skip


def get_as(client, user, url, **extra):
    client.force_login(user)
    return client.get(url, **extra)


def post_as(client, user, url, data=None, **extra):
    client.force_login(user)
    return client.post(url, data or {}, **extra)


# Every page of the team workspace, and every write, as (url-maker, data).
def read_pages(team, service):
    return [
        reverse("service-detail", args=[service.name]),
        reverse("workspace-detail", args=[team.slug]),
    ]


def writes(team, service, credential):
    return [
        (reverse("service-edit", args=[service.name]), {"op": "save", "env-TOTAL": "0", "storage-TOTAL": "0"}),
        (reverse("service-delete", args=[service.name]), {"confirm": service.name}),
        (reverse("workspace-member-add", args=[team.slug]), {"username": "charlie", "role": "viewer"}),
        (reverse("workspace-member-change", args=[team.slug, "alice"]), {"m0-role": "viewer"}),
        (reverse("workspace-member-remove", args=[team.slug, "alice"]), {}),
        (reverse("registry-credential-add", args=[team.slug]),
         {"name": "other", "registry": "r.example.com", "username": "u", "password": "p"}),
        (reverse("registry-credential-delete", args=[team.slug, credential.name]), {}),
    ]  # fmt: skip


# --- ownership -------------------------------------------------------------------------------


def test_alice_sees_every_page_of_her_workspace(client, alice, team, service):
    client.force_login(alice)
    for url in [
        reverse("service-list"),
        reverse("service-create"),
        reverse("service-detail", args=[service.name]),
        reverse("service-edit", args=[service.name]),
        reverse("service-download", args=[service.name]),
        reverse("workspace-detail", args=[team.slug]),
        reverse("api-key-list"),
    ]:
        assert client.get(url).status_code == 200, url


def test_bob_reads_the_team_pages_without_any_write_buttons(client, bob, team, service, credential):
    client.force_login(bob)
    listing = client.get(reverse("service-list")).content.decode()
    assert service.name in listing
    assert reverse("service-create") not in listing
    detail = client.get(reverse("service-detail", args=[service.name])).content.decode()
    assert reverse("service-edit", args=[service.name]) not in detail
    assert reverse("service-delete", args=[service.name]) not in detail
    assert reverse("service-download", args=[service.name]) not in detail
    workspace = client.get(reverse("workspace-detail", args=[team.slug])).content.decode()
    assert "team-registry" in workspace
    assert reverse("workspace-member-add", args=[team.slug]) not in workspace
    assert reverse("registry-credential-add", args=[team.slug]) not in workspace
    assert reverse("registry-credential-delete", args=[team.slug, "team-registry"]) not in workspace


def test_bob_gets_403_on_the_write_pages(client, bob, team, service):
    client.force_login(bob)
    assert client.get(reverse("service-edit", args=[service.name])).status_code == 403
    assert client.get(reverse("service-create")).status_code == 403  # bob's current workspace is team
    assert client.get(reverse("service-download", args=[service.name])).status_code == 403


def test_bob_gets_403_on_every_write_and_nothing_changes(client, bob, team, service, credential):
    for url, data in writes(team, service, credential):
        assert post_as(client, bob, url, data).status_code == 403, url
    assert post_as(client, bob, reverse("service-create"), {"op": "save"}).status_code == 403
    assert post_as(client, bob, reverse("service-preview"), {"service_name": service.name}).status_code == 403
    assert Service.objects.filter(pk=service.pk).exists()
    assert RegistryCredential.objects.filter(pk=credential.pk).exists()
    assert Membership.objects.get(workspace=team, user__username="alice").role == Role.OWNER


def test_charlie_gets_404_on_every_page_and_write_of_the_team(client, charlie, team, service, credential):
    client.force_login(charlie)
    for url in [*read_pages(team, service), reverse("service-edit", args=[service.name]),
                reverse("service-download", args=[service.name])]:  # fmt: skip
        assert client.get(url).status_code == 404, url
    for url, data in writes(team, service, credential):
        assert client.post(url, data).status_code == 404, url
    preview = client.post(reverse("service-preview"), {"service_name": service.name})
    assert preview.status_code == 404
    switch = client.post(reverse("workspace-switch"), {"workspace": team.slug})
    assert switch.status_code == 404
    assert service.name not in client.get(reverse("service-list")).content.decode()
    assert Service.objects.filter(pk=service.pk).exists()


def test_an_unknown_service_is_a_404_like_another_workspaces(client, alice, team):
    assert get_as(client, alice, reverse("service-detail", args=["no_such_service"])).status_code == 404


@pytest.mark.parametrize(
    "name",
    ["service-list", "service-create", "api-key-list"],
)
def test_anonymous_visitors_are_sent_to_the_login_page(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_anonymous_posts_are_sent_to_the_login_page(client, team, service):
    for url in [reverse("service-preview"), reverse("service-download"), reverse("workspace-switch"),
                reverse("service-delete", args=[service.name]), reverse("api-key-create")]:  # fmt: skip
        response = client.post(url, {})
        assert response.status_code == 302, url
    assert Service.objects.filter(pk=service.pk).exists()


# --- service list ----------------------------------------------------------------------------


def make_services(alice, team, count: int, prefix: str = "svc") -> None:
    for i in range(count):
        config = copy.deepcopy(FLASK_CONFIG)
        config["name"] = f"{prefix}_{i:03d}"
        service_create(actor=alice, workspace=team, config=config)


def test_the_list_page_makes_the_same_few_queries_for_30_services_as_for_one(
    client, alice, team, django_assert_max_num_queries
):
    make_services(alice, team, 1, prefix="one")
    client.force_login(alice)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("service-list"))
    make_services(alice, team, 29)
    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("service-list"))
    assert response.content.decode().count('<td><a href="/services/') == 25
    with django_assert_max_num_queries(12):
        client.get(reverse("service-list"), {"page": 2}, headers={"HX-Request": "true", "HX-Target": "service-table"})


def test_the_list_pages_by_25_with_real_links(client, alice, team):
    make_services(alice, team, 30)
    client.force_login(alice)
    first = client.get(reverse("service-list")).content.decode()
    assert "svc_024" in first and "svc_025" not in first
    assert 'href="?page=2"' in first and 'hx-get="?page=2"' in first
    second = client.get(reverse("service-list"), {"page": 2}).content.decode()
    assert "svc_025" in second and "svc_029" in second and "svc_000" not in second


def test_the_list_searches_and_filters_and_htmx_gets_only_the_table(client, alice, team):
    make_services(alice, team, 3)
    make_services(alice, team, 2, prefix="other")
    client.force_login(alice)
    found = client.get(
        reverse("service-list"), {"search": "other"}, headers={"HX-Request": "true", "HX-Target": "service-table"}
    )
    body = found.content.decode()
    assert "other_000" in body and "svc_000" not in body
    assert "<html" not in body and 'id="service-table"' in body
    Service.objects.filter(name="svc_001").update(status="Running")
    running = client.get(reverse("service-list"), {"status": "Running"}).content.decode()
    assert "svc_001" in running and "svc_000" not in running
    assert "<html" in running
    restore = {"HX-Request": "true", "HX-History-Restore-Request": "true"}
    assert "<html" in client.get(reverse("service-list"), {"search": "other"}, headers=restore).content.decode()


# --- service detail --------------------------------------------------------------------------


def test_the_detail_page_shows_status_config_versions_and_endpoints(client, alice, service):
    body = get_as(client, alice, reverse("service-detail", args=[service.name])).content.decode()
    service.refresh_from_db()
    assert f'<span class="badge {service.status}">{service.get_status_display()}</span>' in body
    assert "flask==3.0.3" in body and "/hello/model" in body
    assert "v1" in body and "alice" in body
    assert f"/api/predict/{service.name}" in body


def test_owners_reveal_the_token_and_viewers_can_not(client, alice, bob, service):
    page = reverse("service-detail", args=[service.name])
    reveal = reverse("service-token-reveal", args=[service.name])
    assert reveal in get_as(client, alice, page).content.decode()
    assert service.token in get_as(client, alice, reveal).content.decode()
    viewer_page = get_as(client, bob, page).content.decode()
    assert service.token not in viewer_page and reveal not in viewer_page
    assert get_as(client, bob, reveal).status_code == 404


def test_developers_reveal_the_token_too(client, alice, team, service):
    dev = get_user_model().objects.create_user("dana", password="x-password-1")
    Membership.objects.create(workspace=team, user=dev, role=Role.DEVELOPER)
    assert service.token in get_as(client, dev, reverse("service-token-reveal", args=[service.name])).content.decode()


def test_alice_deletes_a_service_once_she_typed_its_name(client, alice, service):
    url = reverse("service-delete", args=[service.name])
    for typed in ("", "flask", service.name.upper()):
        response = post_as(client, alice, url, {"confirm": typed})
        assert response.status_code == 302 and response["Location"] == reverse("service-detail", args=[service.name])
        assert Service.objects.filter(name=service.name).exists(), typed
    response = post_as(client, alice, url, {"confirm": service.name})
    assert response.status_code == 302 and response["Location"] == reverse("service-list")
    assert not Service.objects.filter(name=service.name).exists()


# --- workspace page --------------------------------------------------------------------------


def test_alice_adds_changes_and_removes_a_member(client, alice, charlie, team):
    url = reverse("workspace-member-add", args=[team.slug])
    assert post_as(client, alice, url, {"username": "charlie", "role": "developer"}).status_code == 302
    membership = Membership.objects.get(workspace=team, user=charlie)
    assert membership.role == Role.DEVELOPER
    change = reverse("workspace-member-change", args=[team.slug, "charlie"])
    assert client.post(change, {f"m{membership.pk}-role": "viewer"}).status_code == 302
    assert Membership.objects.get(pk=membership.pk).role == Role.VIEWER
    page = client.get(reverse("workspace-detail", args=[team.slug])).content.decode()
    assert "charlie" in page
    remove = reverse("workspace-member-remove", args=[team.slug, "charlie"])
    assert client.post(remove).status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_adding_an_unknown_user_says_so_next_to_the_field(client, alice, team):
    url = reverse("workspace-member-add", args=[team.slug])
    response = post_as(client, alice, url, {"username": "zed", "role": "viewer"})
    assert response.status_code == 400
    assert "there is no user &#x27;zed&#x27;" in response.content.decode()


def test_the_last_owner_cannot_step_down(client, alice, team):
    membership = Membership.objects.get(workspace=team, user=alice)
    url = reverse("workspace-member-change", args=[team.slug, "alice"])
    response = post_as(client, alice, url, {f"m{membership.pk}-role": "viewer"})
    assert response.status_code == 400
    assert "at least one owner" in response.content.decode()
    assert Membership.objects.get(pk=membership.pk).role == Role.OWNER


def test_registry_credentials_are_added_and_deleted_and_the_password_never_shown(client, alice, team):
    url = reverse("registry-credential-add", args=[team.slug])
    data = {"name": "private", "registry": "registry.example.com:5000", "username": "bot", "password": "pa55-word-x"}
    assert post_as(client, alice, url, data).status_code == 302
    page = client.get(reverse("workspace-detail", args=[team.slug])).content.decode()
    assert "private" in page and "registry.example.com:5000" in page
    assert "pa55-word-x" not in page
    assert client.post(reverse("registry-credential-delete", args=[team.slug, "private"])).status_code == 302
    assert not RegistryCredential.objects.filter(workspace=team, name="private").exists()


def test_a_bad_credential_name_is_reported_by_the_form(client, alice, team):
    url = reverse("registry-credential-add", args=[team.slug])
    data = {"name": "bad name!", "registry": "r.example.com", "username": "bot", "password": "p"}
    response = post_as(client, alice, url, data)
    assert response.status_code == 400
    assert "letters, digits" in response.content.decode()


def test_the_switcher_sets_the_current_workspace(client, alice, team):
    other = workspace_create(name="Second", owner=alice)
    Profile.objects.filter(user=alice).update(current_workspace=team)
    response = post_as(client, alice, reverse("workspace-switch"), {"workspace": other.slug})
    assert response.status_code == 302
    assert Profile.objects.get(user=alice).current_workspace == other
    assert "Second" in client.get(reverse("service-list")).content.decode()


def test_a_new_workspace_is_created_and_becomes_current(client, bob, team):
    response = post_as(client, bob, reverse("workspace-create"), {"name": "Bob's lab"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=bob, workspace__name="Bob's lab")
    assert membership.role == Role.OWNER
    assert Profile.objects.get(user=bob).current_workspace == membership.workspace


def test_a_workspace_needs_a_name(client, alice, team):
    response = post_as(client, alice, reverse("workspace-create"), {"name": ""})
    assert response.status_code == 400


# --- API keys --------------------------------------------------------------------------------


def test_a_new_api_key_is_shown_once(client, alice):
    response = post_as(client, alice, reverse("api-key-create"), {"name": "ci"})
    assert response.status_code == 200
    body = response.content.decode()
    key = ApiKey.objects.get(user=alice, name="ci")
    start = body.index('id="new-api-key">') + len('id="new-api-key">')
    plain = body[start : body.index("<", start)]
    assert plain.startswith(key.prefix) and len(plain) > 30
    listing = client.get(reverse("api-key-list")).content.decode()
    assert key.prefix in listing and plain not in listing


def test_alice_deletes_her_key_and_charlie_cannot(client, alice, charlie):
    key, _ = api_key_create(user=alice, name="laptop")
    assert post_as(client, charlie, reverse("api-key-delete", args=[key.pk])).status_code == 404
    assert ApiKey.objects.filter(pk=key.pk).exists()
    assert "laptop" not in client.get(reverse("api-key-list")).content.decode()
    assert post_as(client, alice, reverse("api-key-delete", args=[key.pk])).status_code == 302
    assert not ApiKey.objects.filter(pk=key.pk).exists()


def test_the_status_badge_polls_while_the_service_changes_and_stops_after(client, alice, service):
    url = reverse("service-detail", args=[service.name])
    poll = {"HX-Request": "true", "HX-Target": "service-status"}
    Service.objects.filter(pk=service.pk).update(status="Creating")
    client.force_login(alice)
    assert 'hx-trigger="every 2s"' in client.get(url).content.decode()
    changing = client.get(url, headers=poll)
    assert changing.status_code == 200 and "Creating" in changing.content.decode()
    Service.objects.filter(pk=service.pk).update(status="Running", message="")
    settled = client.get(url, headers=poll)
    assert settled.status_code == 286  # htmx stops polling
    assert "Running" in settled.content.decode() and "hx-trigger" not in settled.content.decode()
