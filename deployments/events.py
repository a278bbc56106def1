"""Events: what happened to a service, for people (the service page, `berth events`, the API)."""

from deployments.choices import EventType
from deployments.models import Event, Service


def event_record(
    *, service: Service, reason: str, message: str, warning: bool = False, instance: str = "", actor: str = "system"
) -> Event:
    return Event.objects.create(
        service=service,
        type=EventType.WARNING if warning else EventType.NORMAL,
        reason=reason,
        message=message,
        instance_name=instance,
        actor=actor,
    )


def actor_name(actor) -> str:
    return actor.get_username() if actor is not None else "system"
