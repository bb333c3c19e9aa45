"""GOOGLE_CLOUD: each instance is a Compute Engine VM running the service's container.

Like ``gcloud compute instances create-with-container`` (what the thesis used): a Container-
Optimized OS boot image, the container declared in the ``gce-container-declaration`` metadata,
and labels, by which instances are listed. Creating a name that exists answers 409 and is taken
as "already there"; deleting a name that does not exist answers 404 and is "already gone".

The container's environment is metadata, readable by whoever may view the VM: it carries the
Kafka security settings but never ``KAFKA_SASL_PASSWORD`` (see ``activities.act.providers.instance_env``);
the image must get that from Secret Manager itself.

``GCE_API_ENDPOINT`` points the client at another Compute endpoint (a stand-in in the tests),
with anonymous credentials; otherwise Application Default Credentials are used.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time

from google.api_core import exceptions as google_errors
from google.cloud import compute_v1

from activities.act.providers import (BlockingProvider, InstanceSpec, ProviderRefused, checked_names, valid_instance,
                                  valid_service)
from activities.act.providers.settings import ProviderSettings
from workflows.messages import InstanceInfo

log = logging.getLogger(__name__)

SERVICE_LABEL = "siaga-service"
MANAGED_LABEL = "siaga-managed"
INSTANCE_LABEL = "siaga-instance"  # the Siaga name, when the VM's own name had to differ from it
OPERATION_TIMEOUT_S = 300.0


def container_declaration(name: str, image: str, env: dict[str, str]) -> str:
    """The YAML ``create-with-container`` writes (JSON strings are valid YAML scalars)."""
    lines = ["spec:", "  containers:", f"  - name: {json.dumps(name)}", f"    image: {json.dumps(image)}"]
    if env:
        lines.append("    env:")
        for key, value in sorted(env.items()):
            lines += [f"    - name: {json.dumps(key)}", f"      value: {json.dumps(value)}"]
    lines += ["    stdin: false", "    tty: false", "  restartPolicy: Always",
              "# This container declaration format is not public API and may change without notice. Please",
              "# use gcloud command-line tool or Google Cloud Console to run Containers on Google Compute Engine."]
    return "\n".join(lines) + "\n"


def vm_name(name: str) -> str:
    """The Compute Engine name of instance ``name`` (already ``<service>-<n>``).

    Compute names cannot hold ``_``: such a name becomes ``-``s plus a hash of the original
    (``discord_bot-1`` ▸ ``discord-bot-1-u<hash>``), so two services never map to one VM; the
    original rides along in the ``siaga-instance`` label.
    """
    if "_" not in name:
        return name
    return f"{name.replace('_', '-')}-u{hashlib.sha256(name.encode()).hexdigest()[:6]}"


def label_value(text: str) -> str:
    """Label values: lowercase letters, digits, ``-`` and ``_``, at most 63 characters."""
    return "".join(c if c.isalnum() or c in "-_" else "-" for c in text.lower())[:63]


class ComputeEngineProvider(BlockingProvider):
    name = "GOOGLE_CLOUD"

    def __init__(self, settings: ProviderSettings, instances: compute_v1.InstancesClient | None = None,
                 operations: compute_v1.ZoneOperationsClient | None = None):
        self.settings = settings
        options = {}
        if settings.gce_api_endpoint:
            from google.auth.credentials import AnonymousCredentials

            options = {"transport": "rest", "client_options": {"api_endpoint": settings.gce_api_endpoint},
                       "credentials": AnonymousCredentials()}
        self.instances = instances or compute_v1.InstancesClient(**options)
        # built with the same endpoint: the client's own operation polling always goes to googleapis.com
        self.operations = operations or compute_v1.ZoneOperationsClient(**options)

    def instance_resource(self, spec: InstanceSpec) -> compute_v1.Instance:
        s = self.settings
        image = s.image_name.replace("{service}", spec.service)
        zone = s.cloud_zone
        metadata = compute_v1.Metadata(items=[
            compute_v1.Items(key="gce-container-declaration",
                             value=container_declaration(spec.service, image, spec.env)),
            compute_v1.Items(key="google-logging-enabled", value="true"),
        ])
        labels = {SERVICE_LABEL: label_value(spec.service), MANAGED_LABEL: "true", "container-vm": "cos-stable"}
        if vm_name(spec.name) != spec.name:
            labels[INSTANCE_LABEL] = label_value(spec.name)
        resource = compute_v1.Instance(
            name=vm_name(spec.name),
            machine_type=f"zones/{zone}/machineTypes/{s.gce_machine_type}",
            labels=labels,
            disks=[compute_v1.AttachedDisk(
                boot=True, auto_delete=True,
                initialize_params=compute_v1.AttachedDiskInitializeParams(source_image=s.gce_source_image))],
            network_interfaces=[compute_v1.NetworkInterface(
                network="global/networks/default",
                access_configs=[compute_v1.AccessConfig(name="External NAT", type_="ONE_TO_ONE_NAT")])],
            metadata=metadata,
        )
        if s.service_account:
            resource.service_accounts = [compute_v1.ServiceAccount(
                email=s.service_account, scopes=["https://www.googleapis.com/auth/cloud-platform"])]
        return resource

    def _create(self, spec: InstanceSpec) -> InstanceInfo:
        checked_names(spec.name, spec.service)  # before any API call
        s = self.settings
        try:
            operation = self.instances.insert_unary(project=s.project_name, zone=s.cloud_zone,
                                                    instance_resource=self.instance_resource(spec))
            self._wait(operation)
        except google_errors.Conflict:
            log.info("%s already exists on Compute Engine: keeping it", spec.name)
        except (google_errors.BadRequest, google_errors.Forbidden, google_errors.NotFound) as exc:
            raise ProviderRefused(f"Compute Engine refused {spec.name}: {exc.message}") from None
        return self._info(self.instances.get(project=s.project_name, zone=s.cloud_zone, instance=vm_name(spec.name)))

    def _delete(self, name: str) -> bool:
        if not valid_instance(name):
            return False
        s = self.settings
        try:
            self._wait(self.instances.delete_unary(project=s.project_name, zone=s.cloud_zone, instance=vm_name(name)))
        except google_errors.NotFound:
            return False
        return True

    def _list(self, service: str) -> list[InstanceInfo]:
        if not valid_service(service):
            return []
        s = self.settings
        request = compute_v1.ListInstancesRequest(
            project=s.project_name, zone=s.cloud_zone,
            filter=f'labels.{SERVICE_LABEL} = "{label_value(service)}" AND labels.{MANAGED_LABEL} = "true"')
        return sorted((self._info(i) for i in self.instances.list(request=request)
                       if i.status not in ("STOPPING", "TERMINATED")), key=lambda i: i.name)

    def _wait(self, operation: compute_v1.Operation) -> None:
        s = self.settings
        deadline = time.monotonic() + OPERATION_TIMEOUT_S
        while operation.status != compute_v1.Operation.Status.DONE:
            if time.monotonic() > deadline:
                raise TimeoutError(f"Compute Engine operation {operation.name} not done in {OPERATION_TIMEOUT_S:.0f} s")
            operation = self.operations.wait(project=s.project_name, zone=s.cloud_zone, operation=operation.name)
        if operation.error and operation.error.errors:
            errors = "; ".join(f"{e.code}: {e.message}" for e in operation.error.errors)
            raise ProviderRefused(f"Compute Engine operation {operation.name} failed: {errors}")

    def _info(self, instance: compute_v1.Instance) -> InstanceInfo:
        state = {"PROVISIONING": "pending", "STAGING": "pending", "RUNNING": "running"}.get(instance.status, "stopping")
        name = instance.labels.get(INSTANCE_LABEL, instance.name)
        return InstanceInfo(name, instance.labels.get(SERVICE_LABEL, ""), self.name, state, None)
