"""Login throttling: a username+IP pair is locked out after N failures, even with the right password."""

import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client

from tests.conftest import PASSWORD


def _attempt(client: Client, password: str):
    return client.post("/accounts/login/", {"username": "alice", "password": password}, REMOTE_ADDR="10.9.8.7")


def _fail_until_locked(client: Client, limit: int):
    for _ in range(limit):
        assert _attempt(client, "wrong-password").status_code in (200, 429)


@pytest.mark.django_db
def test_the_attempt_after_the_limit_is_refused_even_with_the_right_password(alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    _fail_until_locked(client, 3)
    response = _attempt(client, PASSWORD)
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_a_right_password_before_the_limit_logs_in(alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    _fail_until_locked(client, 2)
    assert _attempt(client, PASSWORD).status_code == 302
    assert client.session["_auth_user_id"] == str(alice.pk)


@pytest.mark.django_db
def test_another_ip_address_is_not_locked_out(alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    _fail_until_locked(Client(), 3)
    other = Client()
    response = other.post("/accounts/login/", {"username": "alice", "password": PASSWORD}, REMOTE_ADDR="10.9.8.8")
    assert response.status_code == 302


@pytest.mark.django_db
def test_the_lockout_expires_after_the_cool_off(alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    client = Client()
    _fail_until_locked(client, 3)
    assert _attempt(client, PASSWORD).status_code == 429
    time.sleep(1.5)
    assert _attempt(client, PASSWORD).status_code == 302


@pytest.mark.django_db
def test_the_reset_command_lifts_a_lockout(alice, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client = Client()
    _fail_until_locked(client, 3)
    assert _attempt(client, PASSWORD).status_code == 429
    call_command("axes_reset_username", "alice")
    assert _attempt(client, PASSWORD).status_code == 302
