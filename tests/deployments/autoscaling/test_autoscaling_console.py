"""The Autoscaling panel on the service page: settings, decisions, cron jobs; access by role."""

import pytest
from django.test import Client

from deployments.actions import autoscaling
from deployments.models import Service
from tests.conftest import PASSWORD
from tests.deployments.autoscaling.conftest import running_service


def login(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def svc(alice, bob, team, flask_config, scaler_redis):
    service = running_service(alice, flask_config, instance=2)
    Service.objects.filter(pk=service.pk).update(workspace=team)
    service.refresh_from_db()
    return service


def test_the_service_page_embeds_the_panel(alice, svc):
    page = login(alice).get(f"/services/{svc.name}/")

    assert f'hx-get="/services/{svc.name}/autoscaling"' in page.content.decode()


def test_an_owner_adds_an_autoscaler_from_the_form_and_sees_it(alice, svc):
    client = login(alice)

    response = client.post(
        f"/services/{svc.name}/autoscaling",
        {"min": 1, "max": 4, "strategies": "qps=10, cpu=70", "scale_down_window": 60},
    )

    assert response.status_code == 302
    assert autoscaling.autoscaler_describe(service=svc)["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 60}
    panel = client.get(f"/services/{svc.name}/autoscaling", HTTP_HX_REQUEST="true").content.decode()
    assert "1–4 allowed" in panel and "qps 10 per instance; cpu 70 per instance" in panel
    assert "Remove the autoscaler" in panel


def test_the_form_shows_the_parsers_error_for_an_unknown_metric(alice, svc):
    response = login(alice).post(f"/services/{svc.name}/autoscaling", {"min": 1, "max": 4, "strategies": "latency=3"})

    assert response.status_code == 400
    assert "unknown metric" in response.content.decode()


def test_the_remove_button_deletes_the_autoscaler(alice, svc):
    autoscaling.autoscaler_set(actor=alice, service=svc, body={"min": 1, "max": 3, "strategies": {"qps": 5}})

    login(alice).post(f"/services/{svc.name}/autoscaling/delete")

    assert autoscaling.autoscaler_describe(service=svc) is None


def test_a_viewer_sees_the_panel_without_the_form_and_cannot_post(alice, bob, svc):
    autoscaling.autoscaler_set(actor=alice, service=svc, body={"min": 1, "max": 3, "strategies": {"qps": 5}})
    client = login(bob)

    panel = client.get(f"/services/{svc.name}/autoscaling").content.decode()
    assert "1–3 allowed" in panel and "Change the autoscaler" not in panel
    assert (
        client.post(f"/services/{svc.name}/autoscaling", {"min": 1, "max": 9, "strategies": "qps=1"}).status_code == 403
    )


def test_an_outsider_gets_404(charlie, svc):
    assert login(charlie).get(f"/services/{svc.name}/autoscaling").status_code == 404


def test_the_panel_lists_cron_jobs(alice, svc):
    body = {"ScaleJobs": [{"Name": "nightly", "Schedule": "0 0 2 * * *", "TargetSize": 1}]}
    autoscaling.cronscaler_set(actor=alice, service=svc, body=body)

    panel = login(alice).get(f"/services/{svc.name}/autoscaling").content.decode()

    assert "nightly" in panel and "0 0 2 * * *" in panel and "Next: nightly" in panel
