"""docker-compose.yml is the production path; no Docker engine runs here, so keep it honest by
checking it against the settings the apps really read."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

from code_facts import variables_the_code_reads
from apps.analyzer.settings import AnalyzerSettings
from workers.settings import ControllerSettings, StackSettings
from fogverse.settings import KafkaSecurity, RuntimeSettings
from apps.notifier.settings import NotifierSettings
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
    line_port = int(resolved_env(SERVICES["line-bot"])["PORT"])
    assert published_container_ports(SERVICES["line-bot"]) == {line_port}
    assert published_container_ports(SERVICES["notifier"]) == {notifier.http_port}
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


# ─── the production path really runs: restarts, healthchecks, volumes, order, secrets ────────


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_long_running_service_restarts_and_has_a_healthcheck(name):
    service = SERVICES[name]
    assert service.get("restart") in ("always", "unless-stopped", "on-failure"), f"{name} is not restarted"
    test = (service.get("healthcheck") or {}).get("test")
    assert test and test[0] in ("CMD", "CMD-SHELL") and len(test) > 1, f"{name} has no healthcheck"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_healthchecks_run_what_exists_at_the_ports_the_apps_listen_on(name):
    command = " ".join(APP_SERVICES[name]["healthcheck"]["test"][1:])
    env = resolved_env(APP_SERVICES[name])
    if "urlopen" in command:
        port = {"notifier": lambda: NotifierSettings.from_env(env).http_port,
                "line-bot": lambda: int(env["PORT"])}[name]()
        assert f"http://127.0.0.1:{port}/healthz" in command
    else:
        module = re.search(r"python -m ([\w.]+)", command).group(1)
        assert importlib.util.find_spec(module) is not None, f"{name}'s healthcheck runs {module}, which does not exist"


def volume_for(service: dict, path: str) -> str | None:
    for mount in service.get("volumes") or []:
        source, _, target = str(mount).split(" ")[0].partition(":")
        if target.split(":")[0] == path:
            return source
    return None


def test_kafka_keeps_its_data_in_a_named_volume():
    kafka = SERVICES["kafka"]
    data_dir = kafka["environment"]["KAFKA_LOG_DIRS"]
    volume = volume_for(kafka, data_dir)
    assert volume in (COMPOSE.get("volumes") or {}), f"{data_dir} is not on a named volume: recreating loses every topic"
    assert volume_for(SERVICES["postgresql"], "/var/lib/postgresql/data") in COMPOSE["volumes"]


def test_the_controller_waits_for_temporal_to_be_healthy_and_temporal_for_its_database():
    assert SERVICES["controller"]["depends_on"]["temporal"] == {"condition": "service_healthy"}
    assert SERVICES["controller"]["depends_on"]["kafka"] == {"condition": "service_healthy"}
    assert SERVICES["temporal"]["depends_on"]["postgresql"] == {"condition": "service_healthy"}
    assert "namespace" in SERVICES["temporal"]["healthcheck"]["test"], "healthy once auto-setup made the namespace"


def test_the_database_password_comes_from_the_environment():
    required = re.compile(r"\$\{POSTGRES_PASSWORD:\?[^}]+\}")
    assert required.fullmatch(str(SERVICES["postgresql"]["environment"]["POSTGRES_PASSWORD"]))
    assert required.fullmatch(str(SERVICES["temporal"]["environment"]["POSTGRES_PWD"]))
    for name, service in SERVICES.items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASSWORD|PWD|SECRET|TOKEN|KEY$", key):
                assert str(value).startswith("${"), f"{name} sets {key} in the file: take it from the environment"


def published(service: dict) -> list[tuple[str, str]]:
    """(host address, container port) per published port; an address is required."""
    found = []
    for spec in service.get("ports") or []:
        assert isinstance(spec, str), spec
        parts = re.fullmatch(r"(\$\{\w+:-[^}]*\}|[0-9.]+):(\d+):(\d+)", spec)
        assert parts, f"{spec!r} publishes on every interface: bind it to an address"
        found.append((parts.group(1), parts.group(3)))
    return found


@pytest.mark.parametrize("name", sorted(n for n, s in SERVICES.items() if s.get("ports")))
def test_published_ports_are_bound_to_loopback_unless_chosen(name):
    for address, port in published(SERVICES[name]):
        default = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", address)
        assert default == "127.0.0.1", f"{name} publishes {port} on {default} by default"
    if name == "line-bot":
        assert published(SERVICES[name])[0][0] == "${LINE_PUBLISH_ADDRESS:-127.0.0.1}", "a documented choice"
