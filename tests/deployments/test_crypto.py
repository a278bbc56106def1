import pytest
from django.test import override_settings

from deployments.crypto import decrypt, encrypt


def test_encrypted_values_round_trip_and_hide_the_plain_text():
    token = encrypt("hunter2")
    assert "hunter2" not in token
    assert decrypt(token) == "hunter2"


def test_a_changed_key_gives_a_clear_error_not_garbage():
    token = encrypt("hunter2")
    with override_settings(BERTH_ENCRYPTION_KEY="another-key"):
        with pytest.raises(ValueError, match="BERTH_ENCRYPTION_KEY"):
            decrypt(token)
