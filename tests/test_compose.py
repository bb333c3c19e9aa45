"""docker-compose.yml is the production path; no Docker engine runs here, so keep it honest by
checking it against the settings the apps really read."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from code_facts import variables_the_code_reads
from fogverse.settings import (AnalyzerSettings, ControllerSettings, NotifierSettings, RuntimeSettings,
                               StackSettings)

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
    assert SERVICES["kafka"]["image"].startswith("apache/kafka")
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
