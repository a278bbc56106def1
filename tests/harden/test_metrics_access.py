"""/metrics names every workspace's services: only the metrics token or a staff session may read it."""

import pytest
from django.test import Client

from deployments.actions.services import service_create


@pytest.fixture
def secret_service(charlie, flask_config):
    flask_config["name"] = "charlies_secret_model"
    service, _ = service_create(actor=charlie, workspace=charlie.memberships.first().workspace, config=flask_config)
    return service


def _get(user=None, **headers):
    client = Client()
    if user is not None:
        client.force_login(user)
    return client.get("/metrics", **headers)


@pytest.mark.django_db
def test_without_a_token_setting_anonymous_scrapes_are_refused(secret_service, settings):
    settings.BERTH_METRICS_TOKEN = ""
    response = _get()
    assert response.status_code == 401
    assert b"charlies_secret_model" not in response.content


@pytest.mark.django_db
def test_a_non_staff_user_never_sees_other_workspaces_services(secret_service, alice, settings):
    settings.BERTH_METRICS_TOKEN = ""
    response = _get(alice)
    assert response.status_code == 403
    assert b"charlies_secret_model" not in response.content


@pytest.mark.django_db
def test_a_staff_session_reads_metrics_without_a_token(secret_service, alice, settings):
    settings.BERTH_METRICS_TOKEN = ""
    alice.is_staff = True
    alice.save()
    assert _get(alice).status_code == 200


@pytest.mark.django_db
def test_the_metrics_token_is_accepted_and_a_wrong_one_refused(secret_service, settings):
    settings.BERTH_METRICS_TOKEN = "scrape-me"
    assert _get(HTTP_AUTHORIZATION="Bearer scrape-me").status_code == 200
    assert _get(HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert _get(HTTP_AUTHORIZATION="Bearer ").status_code == 401
