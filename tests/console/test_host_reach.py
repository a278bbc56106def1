"""The Hosts page form sets how the gateway reaches a host's instances (DockerHost.reach)."""

from django.urls import reverse

from deployments.models import DockerHost


def test_the_host_form_saves_the_reach_and_the_table_shows_it(admin_client):
    form = admin_client.get(reverse("host-list")).content.decode()
    assert 'name="reach"' in form and 'value="published"' in form
    data = {"name": "remote-1", "url": "tcp://127.0.0.1:1", "address": "10.0.0.9", "reach": "published"}
    admin_client.post(reverse("host-add"), data)
    assert DockerHost.objects.get(name="remote-1").reach == "published"
    body = admin_client.get(reverse("host-list")).content.decode()
    row = body[body.index('<tr id="host-remote-1">') :].split("</tr>")[0]
    assert "published ports" in row


def test_without_a_reach_a_unix_host_is_reached_at_container_addresses(admin_client):
    data = {"name": "local-1", "url": "unix:///nonexistent/docker.sock", "address": "127.0.0.1"}
    admin_client.post(reverse("host-add"), data)
    host = DockerHost.objects.get(name="local-1")
    assert host.reach == "auto" and host.reaches_containers
    body = admin_client.get(reverse("host-list")).content.decode()
    assert "container addresses" in body[body.index('<tr id="host-local-1">') :].split("</tr>")[0]
