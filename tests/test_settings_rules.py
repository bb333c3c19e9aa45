"""Rules every settings class keeps: one default per setting, errors that name the variable,
cross-field checks at start, secrets never in a repr (what a log line or a traceback would
print), and the optional ``.env`` file under the environment."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from activities.act.providers.settings import ProviderSettings
from apps.analyzer.settings import AnalyzerSettings
from apps.crawler.settings import CrawlerSettings
from apps.discord_bot.settings import DiscordSettings
from apps.line_bot.settings import LineSettings
from apps.notifier.settings import NotifierSettings
from fogverse.settings import ConfigError, KafkaSecurity, RuntimeSettings, read_env_file
from workers.settings import ControllerSettings, StackSettings
from workers.settings_table import every_variable

REPO = Path(__file__).resolve().parents[1]
SECRET = "s3cr3t-value-that-must-not-show"


def test_every_variable_has_one_default_in_every_class_that_reads_it():
    """A class may leave a variable without a default (the stack: unset ▸ it starts its own broker
    and Temporal server), but no two classes give it different ones."""
    shared = {name: lines for name, lines in every_variable().items() if len(lines) > 1}
    assert {"SIAGA_STATE_DIR", "TEMPORAL_NAMESPACE", "KAFKA_BOOTSTRAP_SERVERS"} <= set(shared), "read by several classes"
    for name, lines in shared.items():
        defaults = {repr(line.value) for line in lines if line.value is not None}
        assert len(defaults) == 1, f"{name} has {len(defaults)} defaults: {sorted(defaults)} ({[l.owner for l in lines]})"


def test_worker_threads_defaults_to_the_cpu_count():
    assert RuntimeSettings.from_env({}).worker_threads == max(1, os.cpu_count() or 1)


@pytest.mark.parametrize("settings_class, environ, message", [
    (RuntimeSettings, {"BATCH_SIZE": "0"}, "BATCH_SIZE must be at least 1, got 0"),
    (RuntimeSettings, {"BATCH_SIZE": "many"}, "BATCH_SIZE must be an integer, got 'many'"),
    (RuntimeSettings, {"METRICS_INTERVAL": "nan"}, "METRICS_INTERVAL must be a number, got 'nan'"),
    (RuntimeSettings, {"CLOUD_PROVIDER": "azure"}, "CLOUD_PROVIDER must be one of LOCAL, GOOGLE_CLOUD, AWS"),
    (AnalyzerSettings, {"MODEL_MODE": "huge"}, "MODEL_MODE must be one of accurate, fast, cascade, got 'huge'"),
    (AnalyzerSettings, {"ANALYZER_METRICS_PORT": "70000"}, "ANALYZER_METRICS_PORT must be at most 65535"),
    (CrawlerSettings, {"USE_SPAM": "maybe"}, "USE_SPAM must be true or false, got 'maybe'"),
    (NotifierSettings, {"INCIDENT_ALERT_COUNTS": "1,5"}, "INCIDENT_ALERT_COUNTS values must be at least 2, got 1"),
    (NotifierSettings, {"FIREBASE_WEB_CONFIG": "[]"}, "FIREBASE_WEB_CONFIG must be a JSON object"),
    (NotifierSettings, {"PUSH_BACKOFF": "10", "PUSH_BACKOFF_MAX": "5"},
     "PUSH_BACKOFF_MAX=5 must not be below PUSH_BACKOFF=10"),
    (DiscordSettings, {}, "TOKEN is not set: the Discord bot token from the Developer Portal"),
    (DiscordSettings, {"TOKEN": "t", "DISCORD_CHANNELS": "123,general"},
     "DISCORD_CHANNELS must list Discord ids (numbers), got 'general'"),
    (LineSettings, {"CHANNEL_SECRET": "s"}, "CHANNEL_ACCESS_TOKEN is not set"),
    (StackSettings, {"KAFKA_HEAP": "lots"}, "KAFKA_HEAP must be a JVM heap size such as 512m or 1g, got 'lots'"),
    (ProviderSettings, {"LOCAL_SERVICE_MODULES": "analyzer"},
     "LOCAL_SERVICE_MODULES must be service=module pairs separated by commas, got 'analyzer'"),
    (ProviderSettings, {"INSTANCE_ENV": "BATCH_SIZE,KAFKA_SASL_PASSWORD"}, "INSTANCE_ENV must not list KAFKA_SASL_PASSWORD"),
    (ControllerSettings, {"CONTROLLED_SERVICES": "analyzer,../x"}, "CONTROLLED_SERVICES: "),
    (KafkaSecurity, {"KAFKA_SSL_CAFILE": "/nonexistent/ca.pem", "KAFKA_SECURITY_PROTOCOL": "SSL"},
     "KAFKA_SSL_CAFILE=/nonexistent/ca.pem does not exist or is not a file"),
], ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_a_bad_value_is_one_error_naming_the_variable(settings_class, environ, message):
    with pytest.raises(ConfigError) as raised:
        settings_class.from_env(environ)
    assert str(raised.value).startswith(message), str(raised.value)
    assert "\n" not in str(raised.value)


def test_a_seed_variable_wins_over_the_shared_one_and_an_empty_value_is_unset():
    both = {"ANALYZER_CONSUMER_SERVERS": "seed:1", "KAFKA_BOOTSTRAP_SERVERS": "shared:2"}
    assert AnalyzerSettings.from_env(both).bootstrap_servers == "seed:1"
    runtime = RuntimeSettings.from_env(both, bootstrap_var="ANALYZER_CONSUMER_SERVERS")
    assert (runtime.bootstrap_servers, runtime.bootstrap_variable) == ("seed:1", "ANALYZER_CONSUMER_SERVERS")
    assert AnalyzerSettings.from_env({**both, "ANALYZER_CONSUMER_SERVERS": " "}).bootstrap_servers == "shared:2"
    assert ProviderSettings.from_env({"AWS_DEFAULT_REGION": "eu-west-1"}).aws_region == "eu-west-1"


def test_the_controller_stops_when_min_instance_is_above_max_instance():
    with pytest.raises(ConfigError, match=re.escape("MIN_INSTANCE=4 is above MAX_INSTANCE=3")):
        ControllerSettings.from_env({"MIN_INSTANCE": "4"})
    with pytest.raises(ConfigError, match="MIN_INSTANCE=2 is above MAX_INSTANCE=1"):
        ControllerSettings.from_env({"MIN_INSTANCE": "2", "MAX_INSTANCE": "1"})
    equal = ControllerSettings.from_env({"MIN_INSTANCE": "2", "MAX_INSTANCE": "2"})
    assert (equal.min_instance, equal.max_instance) == (2, 2)


@pytest.mark.parametrize("settings_class, env, fields", [
    (DiscordSettings, {"TOKEN": SECRET}, ("token",)),
    (LineSettings, {"CHANNEL_SECRET": SECRET, "CHANNEL_ACCESS_TOKEN": SECRET + "-2"},
     ("channel_secret", "channel_access_token")),
    (NotifierSettings, {"FIREBASE_KEY": '{"private_key": "%s"}' % SECRET}, ("firebase_key",)),
    (KafkaSecurity, {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "siaga",
                     "KAFKA_SASL_PASSWORD": SECRET}, ("sasl_password",)),
], ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_secrets_are_read_but_never_in_the_repr(settings_class, env, fields):
    settings = settings_class.from_env(env)
    assert all(SECRET in getattr(settings, name).get_secret_value() for name in fields), "the secret is read"
    for text in (repr(settings), str(settings), f"{settings}", "%r" % (settings,), settings.model_dump_json()):
        assert SECRET not in text


def test_an_error_about_a_secret_never_quotes_it():
    with pytest.raises(ConfigError) as raised:
        KafkaSecurity.from_env({"KAFKA_SASL_PASSWORD": SECRET})
    assert "KAFKA_SASL_PASSWORD is set but" in str(raised.value) and SECRET not in str(raised.value)


def test_the_env_file_is_read_under_the_environment(tmp_path, monkeypatch):
    dotenv = tmp_path / "siaga.env"
    dotenv.write_text("# settings for this machine\nBATCH_SIZE=64\nOBSERVER_TOPIC=from-file\nTOKEN='quoted token'\n")
    monkeypatch.setenv("SIAGA_ENV_FILE", str(dotenv))
    monkeypatch.setenv("OBSERVER_TOPIC", "from-environment")
    monkeypatch.delenv("BATCH_SIZE", raising=False)
    monkeypatch.delenv("TOKEN", raising=False)
    settings = RuntimeSettings.from_env()
    assert (settings.batch_size, settings.observer_topic) == (64, "from-environment")
    assert DiscordSettings.from_env().token.get_secret_value() == "quoted token"
    assert RuntimeSettings.from_env({}).batch_size == 256, "an environment given explicitly reads no file"
    monkeypatch.setenv("SIAGA_ENV_FILE", str(tmp_path / "missing.env"))
    with pytest.raises(ConfigError, match="SIAGA_ENV_FILE=.*missing.env does not exist"):
        read_env_file()


def test_a_bad_value_in_the_env_file_stops_a_service_at_start_naming_it(tmp_path):
    (tmp_path / ".env").write_text("BATCH_SIZE=0\n")
    env = {k: v for k, v in os.environ.items() if k not in ("BATCH_SIZE", "SIAGA_ENV_FILE")}
    result = subprocess.run([sys.executable, "-m", "apps.analyzer"], cwd=tmp_path, capture_output=True, text=True,
                            timeout=120, env={**env, "PYTHONPATH": str(REPO), "MODEL_MODE": "fast"})
    assert result.returncode == 2, result.stderr
    assert "BATCH_SIZE must be at least 1, got 0" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_command_line_error_for_min_above_max_names_both_variables(tmp_path):
    result = subprocess.run([sys.executable, "-m", "workers", "worker"], cwd=REPO, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "MIN_INSTANCE": "5", "MAX_INSTANCE": "2",
                                             "SIAGA_STATE_DIR": str(tmp_path)})
    assert result.returncode == 2, result.stderr
    assert "MIN_INSTANCE=5" in result.stderr and "MAX_INSTANCE=2" in result.stderr
    assert "Traceback" not in result.stderr
