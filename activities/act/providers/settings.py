"""Where and how the controller deploys instances: LOCAL processes, Google Compute, AWS EC2."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator

from fogverse.settings import (DEFAULT_BOOTSTRAP, CommaList, KafkaSecurity, ResolvedPath, Rule, Settings, env, state_dir_env)

DEFAULT_INSTANCE_ENV = ("OBSERVER_TOPIC", "METRICS_INTERVAL", "BATCH_SIZE", "MODEL_MODE", "ANALYZER_MODE",
                        "WORKER_THREADS", "LOG_LEVEL", "LOG_FORMAT")


def _service_modules(value: Any) -> Any:
    """``a=x,b=y`` ▸ ``{"a": "x", "b": "y"}``."""
    if not isinstance(value, str):
        return value
    mapping = {}
    for item in (item.strip() for item in value.split(",")):
        if not item:
            continue
        key, sep, module = item.partition("=")
        if not sep or not key.strip() or not module.strip():
            raise ValueError(f"must be service=module pairs separated by commas, got {item!r}")
        mapping[key.strip()] = module.strip()
    return mapping


def _no_secrets(names: tuple[str, ...]) -> tuple[str, ...]:
    for secret in KafkaSecurity.SECRETS:
        if secret in names:
            raise ValueError(f"must not list {secret}: cloud instances' metadata and user-data are readable by "
                             "whoever may view the instance; give them the secret from the cloud's secret store "
                             "(LOCAL instances get it without being listed)")
    return names


def _machine_type(value: str) -> str:
    # the seeds' deploy class, not a Compute machine type
    return "e2-standard-2" if value.upper() in ("CPU", "GPU") else value


class ProviderSettings(Settings):
    #: LOCAL: ``<state_dir>/instances`` holds each instance's pid file and log
    state_dir: ResolvedPath = state_dir_env()
    local_service_modules: Annotated[dict[str, str], BeforeValidator(_service_modules),
                                     Rule("service=module pairs, comma-separated")] = env(
        "LOCAL_SERVICE_MODULES", default_factory=dict, shown="`apps.<service>`",
        meaning="`service=module,…`: what the LOCAL provider runs")
    instance_env: Annotated[CommaList, AfterValidator(_no_secrets)] = env(
        "INSTANCE_ENV", default=DEFAULT_INSTANCE_ENV, meaning="variables passed on to deployed instances")
    instance_bootstrap_servers: str = env(
        "INSTANCE_KAFKA_BOOTSTRAP_SERVERS", "KAFKA_BOOTSTRAP_SERVERS", default=DEFAULT_BOOTSTRAP,
        shown="`KAFKA_BOOTSTRAP_SERVERS`", meaning="broker address as deployed instances see it")
    project_name: str = env("PROJECT_NAME", default="siaga", meaning="Google Cloud project")
    cloud_zone: str = env("CLOUD_ZONE", default="asia-southeast2-a", meaning="Compute Engine zone")
    gce_machine_type: Annotated[str, AfterValidator(_machine_type)] = env(
        "MACHINE_TYPE", default="e2-standard-2",
        meaning="Compute Engine machine type of deployed instances (the seeds' `CPU` and `GPU` mean this default)")
    #: container image; ``{service}`` is replaced by the service name
    image_name: str = env("IMAGE_NAME", default="ghcr.io/siaga/siaga:latest",
                          meaning="container image deployed instances run")
    service_account: str | None = env("SERVICE_ACCOUNT", default=None,
                                      meaning="Compute Engine service account for instances")
    gce_source_image: str = env("GCE_SOURCE_IMAGE", default="projects/cos-cloud/global/images/family/cos-stable",
                                shown="COS stable", meaning="boot image (Container-Optimized OS)")
    #: set ▸ talk to this Compute endpoint with anonymous credentials
    gce_api_endpoint: str | None = env("GCE_API_ENDPOINT", default=None, shown="Google's",
                                       meaning="Compute REST endpoint (tests use a local stand-in)")
    aws_region: str = env("AWS_REGION", "AWS_DEFAULT_REGION", default="ap-southeast-3", meaning="EC2 region")
    aws_ami_id: str | None = env("AWS_AMI_ID", default=None, shown="required for AWS",
                                 meaning="AMI with Docker for instances")
    aws_instance_type: str = env("AWS_INSTANCE_TYPE", default="t3.medium", meaning="EC2 instance type")
    aws_subnet_id: str | None = env("AWS_SUBNET_ID", default=None, meaning="subnet for instances")
    aws_security_group_ids: CommaList = env("AWS_SECURITY_GROUP_IDS", default=(), shown="none",
                                            meaning="security groups, comma-separated")
