"""Alert channels of a workspace: add, remove, send a test. Developers and owners may; viewers read."""

import re

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction

from deployments.access import check_can_write
from deployments.engine.alerts import alert_deliver
from deployments.errors import ConfigInvalid
from deployments.models import AlertChannel, AlertDelivery, AlertKind, ChannelKind, Workspace

CHANNEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


def _problems(*, name: str, kind: str, url: str, emails: str) -> list[dict]:
    problems = []
    if not CHANNEL_NAME.fullmatch(name):
        problems.append(
            {"path": "name", "message": "use 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit"}
        )
    if kind not in ChannelKind.values:
        problems.append({"path": "kind", "message": f"choose one of {', '.join(ChannelKind.values)}"})
    elif kind == ChannelKind.WEBHOOK and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url):
        problems.append({"path": "url", "message": "give the webhook's http:// or https:// URL"})
    elif kind == ChannelKind.EMAIL:
        addresses = [a.strip() for a in emails.split(",") if a.strip()]
        if not addresses:
            problems.append({"path": "emails", "message": "give at least one e-mail address"})
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                problems.append({"path": "emails", "message": f"{address!r} is not an e-mail address"})
    return problems


def alert_channel_create(
    *, actor, workspace: Workspace, name: str, kind: str, url: str = "", emails: str = ""
) -> AlertChannel:
    """Save where the workspace's alerts go. Raises ConfigInvalid naming the field."""
    check_can_write(user=actor, workspace=workspace)
    name, url, emails = name.strip(), url.strip(), emails.strip()
    problems = _problems(name=name, kind=kind, url=url, emails=emails)
    if problems:
        raise ConfigInvalid(problems)
    try:
        with transaction.atomic():
            return AlertChannel.objects.create(
                workspace=workspace,
                name=name,
                kind=kind,
                url=url if kind == ChannelKind.WEBHOOK else "",
                emails=emails if kind == ChannelKind.EMAIL else "",
            )
    except IntegrityError:
        raise ConfigInvalid([{"path": "name", "message": f"a channel named {name!r} exists; choose another name"}])


def alert_channel_delete(*, actor, channel: AlertChannel) -> None:
    check_can_write(user=actor, workspace=channel.workspace)
    channel.delete()


def alert_channel_test(*, actor, channel: AlertChannel) -> AlertDelivery:
    """Send a test alert now (not queued), so the form can say at once whether it arrived; the delivery
    is recorded like any other."""
    check_can_write(user=actor, workspace=channel.workspace)
    subject = f"[Berth] Test alert for workspace {channel.workspace.name}"
    delivery = AlertDelivery.objects.create(
        channel=channel,
        kind=AlertKind.TEST,
        subject=subject,
        payload={
            "kind": AlertKind.TEST,
            "subject": subject,
            "message": "This is a test: alerts reach this channel.",
            "service": None,
            "workspace": channel.workspace.slug,
            "url": "",
            "incident": None,
        },
        attempts=1,
    )
    delivery.channel = channel
    alert_deliver(delivery)
    delivery.refresh_from_db()
    return delivery
