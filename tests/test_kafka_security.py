"""TLS and SASL: every Kafka client takes one set of settings, and a refusal stops a process at start.

Against a real Apache Kafka node of this module's own with three listeners: PLAINTEXT (the test's
own reads and writes), SASL_SSL (PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 users; the SCRAM ones
created by the storage format step) and SSL requiring a client certificate. The certificates
come from a CA made here; "another CA" signs nothing the broker presents.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from activities.act.providers import instance_env
from certificates import Issued, TestAuthority
from fogverse.broker import probe
from fogverse.kafka_client import BrokerUnreachable, client_options, preflight
from fogverse.processes import ManagedProcess, free_port, python_module, wait_for_port
from fogverse.settings import ConfigError, KafkaSecurity
from activities.act.providers.settings import ProviderSettings
from workers.settings import StackSettings
from kafka_helpers import produce, read_until, start_kafka_node
from workers.kafka_broker import unavailable_reason

REPO = Path(__file__).resolve().parents[1]
USER = "siaga-app"
PASSWORD = f"pw-{uuid.uuid4().hex}"  # unique, so finding it in any output is a leak, not a coincidence


@dataclass(frozen=True)
class SecureBroker:
    plaintext: str  # the test's own door: no settings needed
    sasl_ssl: str
    mutual_tls: str  # SSL listener that requires a client certificate
    ca: Path
    other_ca: Path
    client: Issued

    def env(self, **overrides: str | None) -> dict[str, str]:
        """The security variables for the SASL_SSL listener; an override of None unsets one."""
        env = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
               "KAFKA_SASL_USERNAME": USER, "KAFKA_SASL_PASSWORD": PASSWORD, "KAFKA_SSL_CAFILE": str(self.ca)}
        env.update(overrides)
        return {k: v for k, v in env.items() if v is not None}

    def security(self, **overrides: str | None) -> KafkaSecurity:
        return KafkaSecurity.from_env(self.env(**overrides))


@pytest.fixture(scope="module")
def secure_broker(tmp_path_factory) -> SecureBroker:
    reason = unavailable_reason(StackSettings.from_env().kafka_home)
    if reason:
        pytest.skip(f"needs Apache Kafka, which cannot run here: {reason}")
    state = tmp_path_factory.mktemp("secure-kafka")
    ca = TestAuthority(state / "ca")
    other = TestAuthority(state / "other-ca", "Another CA")
    server = ca.issue("kafka-broker")
    client = ca.issue("siaga-client", hosts=("siaga-client",), client=True)
    sasl_port, tls_port = free_port(), free_port()
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule required;"
    node, broker = start_kafka_node(
        state / "kafka",
        extra_listeners={"SASL_SSL": ("SASL_SSL", sasl_port), "SSL": ("SSL", tls_port)},
        extra_properties={
            "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "listener.name.sasl_ssl.plain.sasl.jaas.config":
                f'org.apache.kafka.common.security.plain.PlainLoginModule required user_{USER}="{PASSWORD}";',
            "listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config": scram,
            "listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config": scram,
            # PEM stores (KIP-651): the key and its chain in one file; the CA for client certificates
            "ssl.keystore.type": "PEM", "ssl.keystore.location": str(server.bundle),
            "ssl.truststore.type": "PEM", "ssl.truststore.location": str(ca.cert),
            "listener.name.ssl.ssl.client.auth": "required",
        },
        scram_credentials=[f"SCRAM-SHA-256=[name={USER},password={PASSWORD}]",
                           f"SCRAM-SHA-512=[name={USER},password={PASSWORD}]"])
    try:
        for port in (sasl_port, tls_port):
            wait_for_port(node.host, port, 60, broker)
        yield SecureBroker(node.bootstrap, f"{node.host}:{sasl_port}", f"{node.host}:{tls_port}",
                           ca.cert, other.cert, client)
    finally:
        broker.stop()


# ── settings: validated at start, the password never shown ─────────────────────────────────

def test_sasl_without_user_or_password_names_the_missing_variable():
    with pytest.raises(ConfigError, match="KAFKA_SASL_USERNAME is not set"):
        KafkaSecurity.from_env({"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_PASSWORD": PASSWORD})
    with pytest.raises(ConfigError, match="KAFKA_SASL_PASSWORD is not set"):
        KafkaSecurity.from_env({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": USER})


def test_a_ca_file_that_does_not_exist_or_holds_no_certificate_names_KAFKA_SSL_CAFILE(tmp_path):
    with pytest.raises(ConfigError, match="KAFKA_SSL_CAFILE=.*does not exist"):
        KafkaSecurity.from_env({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": str(tmp_path / "nope.pem")})
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    security = KafkaSecurity.from_env({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": str(garbage)})
    with pytest.raises(ConfigError, match="KAFKA_SSL_CAFILE=.*holds no CA certificate"):
        client_options(security)


def test_settings_that_the_protocol_would_ignore_are_refused(tmp_path):
    with pytest.raises(ConfigError, match="KAFKA_SASL_USERNAME is set but KAFKA_SECURITY_PROTOCOL=PLAINTEXT"):
        KafkaSecurity.from_env({"KAFKA_SASL_USERNAME": USER})
    ca = TestAuthority(tmp_path).cert
    with pytest.raises(ConfigError, match="KAFKA_SSL_CAFILE is set but KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT"):
        KafkaSecurity.from_env({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": USER,
                                "KAFKA_SASL_PASSWORD": PASSWORD, "KAFKA_SSL_CAFILE": str(ca)})
    with pytest.raises(ConfigError, match="KAFKA_SASL_MECHANISM must be one of PLAIN, SCRAM-SHA-256, SCRAM-SHA-512"):
        KafkaSecurity.from_env({"KAFKA_SASL_MECHANISM": "GSSAPI"})


def test_the_password_is_in_the_client_options_and_nowhere_a_log_could_show_it(tmp_path):
    security = KafkaSecurity.from_env({"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": USER,
                                       "KAFKA_SASL_PASSWORD": f" {PASSWORD} "})
    assert client_options(security)["sasl_plain_password"] == f" {PASSWORD} ", "a password is taken as given"
    for text in (repr(security), str(security)):
        assert PASSWORD not in text and USER in text


def test_instances_get_the_security_settings_and_only_local_ones_the_password():
    environ = {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
               "KAFKA_SASL_USERNAME": USER, "KAFKA_SASL_PASSWORD": PASSWORD, "KAFKA_SSL_CAFILE": "/etc/siaga/ca.pem"}
    settings = ProviderSettings.from_env({"INSTANCE_KAFKA_BOOTSTRAP_SERVERS": "broker.example:9096"})
    local = instance_env(settings, "analyzer", "analyzer-1", "LOCAL", environ)
    assert {k: local[k] for k in environ} == environ
    for cloud in ("GOOGLE_CLOUD", "AWS"):
        env = instance_env(settings, "analyzer", "analyzer-1", cloud, environ)
        assert "KAFKA_SASL_PASSWORD" not in env and PASSWORD not in json.dumps(env)
        assert env["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL" and env["KAFKA_SASL_USERNAME"] == USER
    with pytest.raises(ConfigError, match="INSTANCE_ENV must not list KAFKA_SASL_PASSWORD"):
        ProviderSettings.from_env({"INSTANCE_ENV": "MODEL_MODE,KAFKA_SASL_PASSWORD"})


def test_the_embedded_stack_refuses_security_settings_it_cannot_serve(monkeypatch):
    from workers.up import run_up

    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    for name, value in {"KAFKA_SECURITY_PROTOCOL": "SASL_SSL", "KAFKA_SASL_USERNAME": USER,
                        "KAFKA_SASL_PASSWORD": PASSWORD}.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError, match="KAFKA_SECURITY_PROTOCOL=SASL_SSL needs KAFKA_BOOTSTRAP_SERVERS"):
        run_up(components=())


# ── preflight and probe against the real broker ──────────────────────────────────────────────

@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
async def test_preflight_logs_in_over_sasl_ssl(secure_broker, mechanism):
    await preflight(secure_broker.sasl_ssl, secure_broker.security(KAFKA_SASL_MECHANISM=mechanism))


async def test_a_wrong_password_is_a_config_error_naming_user_and_password(secure_broker):
    with pytest.raises(ConfigError) as refused:
        await preflight(secure_broker.sasl_ssl, secure_broker.security(KAFKA_SASL_PASSWORD="not-the-password"))
    message = str(refused.value)
    assert "KAFKA_SASL_USERNAME" in message and "KAFKA_SASL_PASSWORD" in message and "\n" not in message
    assert "not-the-password" not in message


async def test_an_untrusted_certificate_is_a_config_error_naming_KAFKA_SSL_CAFILE(secure_broker):
    for security in (secure_broker.security(KAFKA_SSL_CAFILE=str(secure_broker.other_ca)),
                     secure_broker.security(KAFKA_SSL_CAFILE=None)):  # the system CAs do not know ours either
        with pytest.raises(ConfigError, match="not trusted by KAFKA_SSL_CAFILE"):
            await preflight(secure_broker.sasl_ssl, security)
        with pytest.raises(ConfigError, match="not trusted by KAFKA_SSL_CAFILE"):
            await probe(secure_broker.sasl_ssl, security=security)


async def test_nothing_listening_is_unreachable_not_a_config_error(secure_broker):
    with pytest.raises(BrokerUnreachable, match="ConnectionRefusedError"):
        await preflight(f"127.0.0.1:{free_port()}", secure_broker.security())


async def test_plaintext_against_a_tls_listener_names_KAFKA_SECURITY_PROTOCOL(secure_broker):
    for check in (preflight(secure_broker.sasl_ssl, KafkaSecurity()),
                  probe(secure_broker.sasl_ssl, security=KafkaSecurity())):
        with pytest.raises(ConfigError, match="speaks TLS: KAFKA_SECURITY_PROTOCOL=PLAINTEXT must be SSL or SASL_SSL"):
            await check


async def test_a_listener_that_requires_a_client_certificate(secure_broker):
    without = secure_broker.security(KAFKA_SECURITY_PROTOCOL="SSL", KAFKA_SASL_USERNAME=None,
                                     KAFKA_SASL_PASSWORD=None, KAFKA_SASL_MECHANISM=None)
    with pytest.raises(ConfigError, match="refused our TLS client certificate .KAFKA_SSL_CERTFILE=.unset."):
        await preflight(secure_broker.mutual_tls, without)
    with_cert = KafkaSecurity.from_env({"KAFKA_SECURITY_PROTOCOL": "SSL", "KAFKA_SSL_CAFILE": str(secure_broker.ca),
                                        "KAFKA_SSL_CERTFILE": str(secure_broker.client.cert),
                                        "KAFKA_SSL_KEYFILE": str(secure_broker.client.key)})
    await preflight(secure_broker.mutual_tls, with_cert)
    assert (await probe(secure_broker.mutual_tls, security=with_cert)).flavor() == "Apache Kafka"


def test_the_probe_command_speaks_tls(secure_broker):
    env = dict(os.environ, PYTHONPATH=str(REPO), **secure_broker.env())
    result = subprocess.run([sys.executable, "-m", "fogverse.broker", secure_broker.sasl_ssl], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["broker"] == "Apache Kafka" and report["features"]["partition growth (CreatePartitions)"]["supported"]
    assert PASSWORD not in result.stdout + result.stderr


# ── a real app process ───────────────────────────────────────────────────────────────────────

def app_process(secure_broker, tmp_path, topic_name, name: str, **security) -> tuple[ManagedProcess, str, str]:
    source, target = topic_name("src"), topic_name("dst")
    env = dict(os.environ, PYTHONPATH=f"{REPO}:{REPO / 'tests'}", PYTHONUNBUFFERED="1", METRICS_INTERVAL="0.5",
               KAFKA_BOOTSTRAP_SERVERS=secure_broker.sasl_ssl, TEST_SOURCE_TOPIC=source, TEST_TARGET_TOPIC=target,
               TEST_GROUP_ID=f"g-{source}", OBSERVER_TOPIC=f"{source}.observer")
    for key in KafkaSecurity.VARIABLES:
        env.pop(key, None)
    env.update(secure_broker.env(**security))
    process = ManagedProcess(name, python_module("runtime_test_app"), env=env, log_path=tmp_path / f"{name}.log")
    return process, source, target


async def test_the_pipeline_runs_over_sasl_ssl(secure_broker, tmp_path, topic_name):
    """The app knows only the SASL_SSL listener; the test writes and reads through PLAINTEXT."""
    process, source, target = app_process(secure_broker, tmp_path, topic_name, "sasl-app")
    n = 200
    await produce(secure_broker.plaintext, source, [json.dumps({"id": f"m{i}"}).encode() for i in range(n)])
    process.start()
    try:
        out = await read_until(secure_broker.plaintext, target, lambda r: len(r) >= n, timeout_s=90, watch=process)
    finally:
        process.stop()
    assert {json.loads(r.value)["id"] for r in out} == {f"m{i}" for i in range(n)}
    assert PASSWORD not in (tmp_path / "sasl-app.log").read_text()


@pytest.mark.parametrize("setting, value, named", [
    ("KAFKA_SASL_PASSWORD", "not-the-password", "check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD"),
    ("KAFKA_SSL_CAFILE", "other CA", "is not trusted by KAFKA_SSL_CAFILE="),
])
async def test_a_refused_setting_stops_the_app_at_start_with_one_line_and_exit_2(
        secure_broker, tmp_path, topic_name, setting, value, named):
    value = str(secure_broker.other_ca) if value == "other CA" else value
    process, _, _ = app_process(secure_broker, tmp_path, topic_name, "refused-app", **{setting: value})
    process.start()
    try:
        code = await asyncio.to_thread(process.popen.wait, 60)
    finally:
        process.kill()
    output = (tmp_path / "refused-app.log").read_text()
    assert code == 2, output
    lines = [line for line in output.splitlines() if named in line]
    assert len(lines) == 1 and lines[0].startswith("test-app: configuration error: "), output
    assert "Traceback" not in output, output
    assert PASSWORD not in output and "not-the-password" not in output


async def test_a_wrong_password_stops_the_controller_at_start_naming_the_settings(secure_broker, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", KAFKA_BOOTSTRAP_SERVERS=secure_broker.sasl_ssl,
               TEMPORAL_ADDRESS=f"127.0.0.1:{free_port()}", SIAGA_STATE_DIR=str(tmp_path / "state"))
    for key in KafkaSecurity.VARIABLES:
        env.pop(key, None)
    env.update(secure_broker.env(KAFKA_SASL_PASSWORD="not-the-password"))
    result = await asyncio.to_thread(subprocess.run, [sys.executable, "-m", "workers", "worker"], env=env, cwd=REPO,
                                     capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD" in result.stderr
    assert "Traceback" not in output
    assert PASSWORD not in output and "not-the-password" not in output
