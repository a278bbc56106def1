"""Berth's tables, one module per part; every model is re-exported here (`from deployments.models import Service`).

Writes go through deployments/actions/, reads that depend on who asks through deployments/selectors.py.
Models keep app label `deployments` and their table names: moving a class between these modules
changes no table.
"""

from deployments.models.gateway import TrafficSample
from deployments.models.hosts import DockerHost
from deployments.models.scaling import ServiceScaler
from deployments.models.services import Deployment, Event, Instance, Service, ServiceVersion
from deployments.models.storage import AddressingStyle, InstanceMount, ObjectStore
from deployments.models.workspaces import ApiKey, Membership, Profile, RegistryCredential, Workspace

__all__ = [
    "AddressingStyle",
    "ApiKey",
    "Deployment",
    "DockerHost",
    "Event",
    "Instance",
    "InstanceMount",
    "Membership",
    "ObjectStore",
    "Profile",
    "RegistryCredential",
    "Service",
    "ServiceScaler",
    "ServiceVersion",
    "TrafficSample",
    "Workspace",
]
