"""Where instances run: LOCAL processes, Google Compute Engine VMs, AWS EC2 instances.

Every provider does the same three things, each idempotent because instance names are
deterministic: ``create`` (an instance of that name that exists is returned, not duplicated),
``delete`` (nothing to delete is not an error) and ``list`` (by service, from the provider's own
records: pid scan, labels, tags). Each service picks its provider with ``CLOUD_PROVIDER``, which
its instances announce in ``ServicePair.deploy_configs``.

Service and instance names come from the observer topic, which anyone who can write to it can
fill: every provider checks them with :func:`checked_names` before they reach a path, a script or
a cloud API, and refuses what does not match.
"""

from __future__ import annotations

import asyncio
import os
import re
from dataclasses import dataclass, field
from typing import Mapping, Protocol

from fogverse.settings import KafkaSecurity
from activities.act.providers.settings import ProviderSettings
from workflows.messages import InstanceInfo


class ProviderRefused(RuntimeError):
    """The provider cannot create this instance as configured; retrying will not help."""


#: a service: what ``apps.<service>`` and the thesis used (``analyzer``, ``discord_bot``)
SERVICE_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,39}")
#: an instance: ``<service>-<n>``, as the scaler names them
INSTANCE_PATTERN = re.compile(r"(?P<service>[a-z][a-z0-9_-]{0,39})-(?P<number>[0-9]{1,9})")


def valid_service(service: str) -> bool:
    return isinstance(service, str) and SERVICE_PATTERN.fullmatch(service) is not None


def valid_instance(name: str, service: str | None = None) -> bool:
    """``<service>-<n>``, and of ``service`` when it is given."""
    if not isinstance(name, str):
        return False
    match = INSTANCE_PATTERN.fullmatch(name)
    return match is not None and (service is None or (valid_service(service) and match["service"] == service))


def checked_names(name: str, service: str) -> None:
    """Refuse (before any path, script or API call) names that are not ``<service>-<n>``."""
    if not valid_service(service):
        raise ProviderRefused(f"refused service name {service!r}: not {SERVICE_PATTERN.pattern}")
    if not valid_instance(name, service):
        raise ProviderRefused(f"refused instance name {name!r}: not {service}-<n>")


@dataclass(frozen=True)
class InstanceSpec:
    name: str
    service: str
    env: dict[str, str] = field(default_factory=dict)  # what the instance's process or container gets


class InstanceProvider(Protocol):
    name: str

    async def create(self, spec: InstanceSpec) -> InstanceInfo: ...

    async def delete(self, name: str, service: str) -> bool: ...

    async def list(self, service: str) -> list[InstanceInfo]: ...


class BlockingProvider:
    """The async face of a provider whose client library blocks (subprocess, REST, boto3):
    each call runs on a thread, so the worker's event loop never waits on a cloud API.

    Each ``_create`` starts with :func:`checked_names`; ``_delete`` and ``_list`` of a bad name
    answer "nothing there" (no provider ever made such an instance) without asking the cloud.
    """

    async def create(self, spec: InstanceSpec) -> InstanceInfo:
        return await asyncio.to_thread(self._create, spec)

    async def delete(self, name: str, service: str = "") -> bool:
        if service and not valid_instance(name, service):
            return False  # not an instance of that service: never made as one
        return await asyncio.to_thread(self._delete, name)

    async def list(self, service: str) -> list[InstanceInfo]:
        return await asyncio.to_thread(self._list, service)


def instance_env(settings: ProviderSettings, service: str, name: str, provider: str,
                 environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The variables an instance starts with: who it is, where the broker is, and the pass-through list.

    Instances are Kafka clients, so they get the controller's Kafka security settings too; the
    secret ones (the SASL password) only LOCAL instances, which stay on this machine. Cloud
    metadata and user-data are readable by whoever may view the instance, so there the image or
    the VM must supply ``KAFKA_SASL_PASSWORD`` (from the cloud's secret store); an instance
    without it stops at start naming the variable.
    """
    environ = os.environ if environ is None else environ
    env = {key: environ[key] for key in settings.instance_env if environ.get(key)}
    security = [key for key in KafkaSecurity.VARIABLES if provider == "LOCAL" or key not in KafkaSecurity.SECRETS]
    env.update({key: environ[key] for key in security if environ.get(key)})
    env.update(INSTANCE_ID=name, SERVICE_NAME=service, CLOUD_PROVIDER=provider,
               KAFKA_BOOTSTRAP_SERVERS=settings.instance_bootstrap_servers)
    return env


class Providers:
    """The providers by name, built on first use so an unused cloud needs no configuration."""

    def __init__(self, settings: ProviderSettings, **given: InstanceProvider):
        self.settings = settings
        self._built: dict[str, InstanceProvider] = dict(given)

    def get(self, name: str) -> InstanceProvider:
        if name not in self._built:
            self._built[name] = self._build(name)
        return self._built[name]

    def _build(self, name: str) -> InstanceProvider:
        if name == "LOCAL":
            from activities.act.providers.local import LocalProcessProvider

            return LocalProcessProvider(self.settings.state_dir, self.settings.local_service_modules)
        if name == "GOOGLE_CLOUD":
            from activities.act.providers.google_cloud import ComputeEngineProvider

            return ComputeEngineProvider(self.settings)
        if name == "AWS":
            from activities.act.providers.aws import Ec2Provider

            return Ec2Provider(self.settings)
        raise ProviderRefused(f"unknown cloud provider {name!r} (CLOUD_PROVIDER is LOCAL, GOOGLE_CLOUD or AWS)")
