"""AWS: each instance is an EC2 instance whose user-data starts the service's container.

Instances carry tags (``Name`` = the instance name, ``siaga-service``, ``siaga-managed``) and are
listed by them. ``RunInstances`` gets the instance name as its ``ClientToken``, EC2's own
idempotency key, so a retried create returns the instance the first attempt made; a create also
looks by tag first, for attempts older than EC2 remembers tokens.

User-data is readable by whoever may describe the instance: the env file it writes carries the
Kafka security settings but never ``KAFKA_SASL_PASSWORD`` (see ``activities.act.providers.instance_env``);
the image must get that from Secrets Manager (or SSM Parameter Store) itself.
"""

from __future__ import annotations

import logging
import re
import shlex

import boto3
from botocore.exceptions import ClientError

from activities.act.providers import (BlockingProvider, InstanceSpec, ProviderRefused, checked_names, valid_instance,
                                  valid_service)
from activities.act.providers.settings import ProviderSettings
from workflows.messages import InstanceInfo

log = logging.getLogger(__name__)

SERVICE_TAG = "siaga-service"
MANAGED_TAG = "siaga-managed"
ALIVE_STATES = ["pending", "running"]
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def user_data(name: str, image: str, env: dict[str, str], env_dir: str = "/etc/siaga") -> str:
    """A cloud-init shell script: install Docker if missing, then run the container, restarted on failure.

    It runs as root: every value in it is quoted (``shlex.quote``), and the env file is written by
    ``printf '%s\\n'`` from quoted words, never by a heredoc a value could end.
    """
    for key, value in env.items():
        if not ENV_NAME.fullmatch(key):
            raise ProviderRefused(f"environment variable name {key!r} is not a shell variable name")
        if "\n" in value or "\r" in value or "\0" in value:
            raise ProviderRefused(f"environment variable {key} holds a line break, which an env file cannot carry")
    env_path = shlex.quote(f"{env_dir}/{name}.env")
    lines = [shlex.quote(f"{key}={value}") for key, value in sorted(env.items())]
    return "\n".join([
        "#!/bin/bash",
        "set -euo pipefail",
        "command -v docker >/dev/null || (dnf install -y docker || yum install -y docker || apt-get install -y docker.io)",
        "systemctl enable --now docker",
        f"install -d -m 700 {shlex.quote(env_dir)}",
        "umask 077",
        f"printf '%s\\n' {' '.join(lines)} > {env_path}" if lines else f": > {env_path}",
        f"docker run -d --restart=always --name {shlex.quote(name)} --network host "
        f"--env-file {env_path} {shlex.quote(image)}",
        "",
    ])


class Ec2Provider(BlockingProvider):
    name = "AWS"

    def __init__(self, settings: ProviderSettings, ec2=None):
        self.settings = settings
        self.ec2 = ec2 or boto3.client("ec2", region_name=settings.aws_region)

    def _create(self, spec: InstanceSpec) -> InstanceInfo:
        checked_names(spec.name, spec.service)  # before any API call: the name goes into a root script
        existing = self._describe([{"Name": "tag:Name", "Values": [spec.name]}])
        if existing:
            return self._info(existing[0])
        s = self.settings
        if not s.aws_ami_id:
            raise ProviderRefused("AWS_AMI_ID is not set: the image EC2 instances boot from")
        tags = [{"Key": "Name", "Value": spec.name}, {"Key": SERVICE_TAG, "Value": spec.service},
                {"Key": MANAGED_TAG, "Value": "true"}]
        request = dict(
            ImageId=s.aws_ami_id, InstanceType=s.aws_instance_type, MinCount=1, MaxCount=1,
            ClientToken=spec.name[:64],
            UserData=user_data(spec.name, s.image_name.replace("{service}", spec.service), spec.env),
            TagSpecifications=[{"ResourceType": "instance", "Tags": tags}],
        )
        if s.aws_subnet_id:
            request["SubnetId"] = s.aws_subnet_id
        if s.aws_security_group_ids:
            request["SecurityGroupIds"] = list(s.aws_security_group_ids)
        try:
            (instance,) = self.ec2.run_instances(**request)["Instances"]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code.startswith(("InvalidAMIID", "InvalidSubnet", "InvalidGroup", "InvalidParameter", "Unsupported",
                                "UnauthorizedOperation")):
                raise ProviderRefused(f"EC2 refused {spec.name}: {code}") from None
            raise
        return self._info(instance)

    def _delete(self, name: str) -> bool:
        if not valid_instance(name):
            return False
        found = self._describe([{"Name": "tag:Name", "Values": [name]}], states=ALIVE_STATES + ["stopping", "stopped"])
        if not found:
            return False
        self.ec2.terminate_instances(InstanceIds=[i["InstanceId"] for i in found])
        return True

    def _list(self, service: str) -> list[InstanceInfo]:
        if not valid_service(service):
            return []
        found = self._describe([{"Name": f"tag:{SERVICE_TAG}", "Values": [service]},
                                {"Name": f"tag:{MANAGED_TAG}", "Values": ["true"]}])
        return sorted((self._info(i) for i in found), key=lambda i: i.name)

    def _describe(self, filters: list[dict], states: list[str] = ALIVE_STATES) -> list[dict]:
        filters = filters + [{"Name": "instance-state-name", "Values": states}]
        pages = self.ec2.get_paginator("describe_instances").paginate(Filters=filters)
        return [i for page in pages for reservation in page["Reservations"] for i in reservation["Instances"]]

    def _info(self, instance: dict) -> InstanceInfo:
        tags = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}
        launched = instance.get("LaunchTime")
        return InstanceInfo(tags.get("Name", instance["InstanceId"]), tags.get(SERVICE_TAG, ""), self.name,
                            instance["State"]["Name"], launched.timestamp() if launched else None)
