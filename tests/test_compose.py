"""docker-compose.yml is the production path; no Docker engine runs here, so keep it honest by
checking it against the settings the apps really read."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from code_facts import variables_the_code_reads
from fogverse.settings import (AnalyzerSettings, ControllerSettings, KafkaSecurity, NotifierSettings,
                               RuntimeSettings, StackSettings)
from workers.kafka_broker import pinned_version

REPO = Path(__file__).resolve().parents[1]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = {name: s for name, s in SERVICES.items() if s.get("build")}


def resolved_env(service: dict) -> dict[str, str]:
    """The service's environment with ${VAR:-default} / ${VAR:?msg} filled in as a user would."""
    env = {}
    for key, value in (service.get("environment") or {}).items():
        value = str(value)
        value = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)
        value = re.sub(r"\$\{\w+:\?[^}]*\}", "set-by-the-user", value)
        env[key] = value
    return env


def test_core_services_exist():
    for name in ("kafka", "postgresql", "temporal", "temporal-ui", "controller", "analyzer", "notifier"):
        assert name in SERVICES, f"docker-compose.yml lacks {name}"
    assert SERVICES["kafka"]["image"] == f"apache/kafka:{pinned_version()}", "the broker the embedded stack runs"
    assert SERVICES["kafka"]["environment"]["KAFKA_NUM_PARTITIONS"] == "1", "partitions grow as consumers join"
    assert SERVICES["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller", "KRaft, no ZooKeeper"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_service_runs_a_module_that_exists(name):
    command = APP_SERVICES[name]["command"]
    assert command[:2] == ["python", "-m"], command
    assert importlib.util.find_spec(command[2]) is not None, f"{name} runs {command[2]}, which does not exist"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_service_environment_names_only_variables_the_code_reads(name):
    unknown = set(resolved_env(APP_SERVICES[name])) - variables_the_code_reads()
    assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_services_reach_the_broker_and_temporal_that_compose_runs(name):
    env = resolved_env(APP_SERVICES[name])
    kafka = SERVICES["kafka"]["environment"]
    advertised = kafka["KAFKA_ADVERTISED_LISTENERS"].split("://", 1)[1]
    assert RuntimeSettings.from_env(env).bootstrap_servers == advertised
    temporal_host, temporal_port = StackSettings.from_env(env).temporal_address.split(":")
    assert temporal_host in SERVICES
    assert any(port.endswith(f":{temporal_port}") for port in SERVICES[temporal_host]["ports"])


def test_published_ports_match_the_ports_the_apps_listen_on():
    notifier = NotifierSettings.from_env(resolved_env(SERVICES["notifier"]))
    assert notifier.http_host == "0.0.0.0", "inside a container the notifier must listen on every interface"
    assert f"{notifier.http_port}:{notifier.http_port}" in SERVICES["notifier"]["ports"]
    line_port = resolved_env(SERVICES["line-bot"])["PORT"]
    assert f"{line_port}:{line_port}" in SERVICES["line-bot"]["ports"]
    assert SERVICES["temporal-ui"]["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"


def test_settings_in_compose_are_valid_values():
    analyzer = AnalyzerSettings.from_env(resolved_env(SERVICES["analyzer"]))
    assert (analyzer.consumer_topic, analyzer.producer_topic) == ("analyze", "client")
    controller = ControllerSettings.from_env(resolved_env(SERVICES["controller"]))
    assert controller.input_output_ratio_threshold == 0.7
    notifier = NotifierSettings.from_env(resolved_env(SERVICES["notifier"]))
    assert notifier.consumer_topic == analyzer.producer_topic, "the notifier reads what the analyzer writes"


def published_container_ports(service: dict) -> set[int]:
    """The container ports a service publishes on the host, in any of compose's port syntaxes."""
    ports = set()
    for spec in service.get("ports") or []:
        target = spec.get("target") if isinstance(spec, dict) else str(spec).split("/")[0].rsplit(":", 1)[-1]
        first, _, last = str(target).partition("-")
        ports.update(range(int(first), int(last or first) + 1))
    return ports


def test_the_broker_publishes_no_listener_that_lets_anyone_in():
    kafka = SERVICES["kafka"]
    env = kafka["environment"]
    assert kafka.get("network_mode") != "host", "host networking would publish every listener"
    protocols = dict(item.split(":", 1) for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    by_port = {int(listener.rsplit(":", 1)[1]): protocols[listener.split("://", 1)[0]]
               for listener in env["KAFKA_LISTENERS"].split(",")}
    for port in published_container_ports(kafka):
        assert by_port.get(port) == "SASL_SSL", (
            f"the kafka service publishes port {port}, a {by_port.get(port, 'unknown')} listener: beyond the compose "
            "network only SASL_SSL (encrypted and authenticated) may be published")


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_services_take_the_kafka_security_settings_from_the_environment(name):
    env = APP_SERVICES[name]["environment"]
    for variable in KafkaSecurity.VARIABLES:
        assert str(env.get(variable)) == f"${{{variable}:-}}", (
            f"{name} must take {variable} from the environment with no default (found {env.get(variable)!r})")
    assert KafkaSecurity.from_env(resolved_env(APP_SERVICES[name])) == KafkaSecurity(), "PLAINTEXT by default"
