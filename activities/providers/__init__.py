"""Where instances run: LOCAL processes, Google Compute Engine VMs, AWS EC2 instances.

Every provider does the same three things, each idempotent because instance names are
deterministic: ``create`` (an instance of that name that exists is returned, not duplicated),
``delete`` (nothing to delete is not an error) and ``list`` (by service, from the provider's own
records: pid scan, labels, tags). Each service picks its provider with ``CLOUD_PROVIDER``, which
its instances announce in ``ServicePair.deploy_configs``.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from typing import Mapping, Protocol

from fogverse.settings import KafkaSecurity, ProviderSettings
from workflows.messages import InstanceInfo


class ProviderRefused(RuntimeError):
    """The provider cannot create this instance as configured; retrying will not help."""


@dataclass(frozen=True)
class InstanceSpec:
    name: str
    service: str
    env: dict[str, str] = field(default_factory=dict)  # what the instance's process or container gets
    machine_type: str = "CPU"


class InstanceProvider(Protocol):
    name: str

    async def create(self, spec: InstanceSpec) -> InstanceInfo: ...

    async def delete(self, name: str, service: str) -> bool: ...

    async def list(self, service: str) -> list[InstanceInfo]: ...


class BlockingProvider:
    """The async face of a provider whose client library blocks (subprocess, REST, boto3):
    each call runs on a thread, so the worker's event loop never waits on a cloud API."""

    async def create(self, spec: InstanceSpec) -> InstanceInfo:
        return await asyncio.to_thread(self._create, spec)

    async def delete(self, name: str, service: str = "") -> bool:
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
            from activities.providers.local import LocalProcessProvider

            return LocalProcessProvider(self.settings.state_dir, self.settings.local_service_modules)
        if name == "GOOGLE_CLOUD":
            from activities.providers.google_cloud import ComputeEngineProvider

            return ComputeEngineProvider(self.settings)
        if name == "AWS":
            from activities.providers.aws import Ec2Provider

            return Ec2Provider(self.settings)
        raise ProviderRefused(f"unknown cloud provider {name!r} (CLOUD_PROVIDER is LOCAL, GOOGLE_CLOUD or AWS)")
