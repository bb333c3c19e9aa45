"""Every command as a person runs it: a missing broker or Temporal server is one line naming the
address and the variable, with a non-zero exit code, within a bound; ``--help`` starts nothing.

Each test runs the real command as a process against a loopback port nothing listens on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fogverse.processes import free_port

REPO = Path(__file__).resolve().parents[1]
START_TIMEOUT_S = 2
BOUND_S = 60  # the command must have returned by then (a hang fails the test, it is not a speed test)


def closed_address() -> str:
    return f"127.0.0.1:{free_port()}"  # nothing listens there


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KAFKA_", "TEMPORAL_", "SIAGA_", "LOG_")) and not k.endswith("_SERVERS")}
    env.update(PYTHONPATH=str(REPO), PYTHONUNBUFFERED="1", SIAGA_START_TIMEOUT=str(START_TIMEOUT_S),
               SIAGA_STATE_DIR=str(Path(extra.pop("state", "/tmp")) / "siaga-cli-state"))
    env.update(extra)
    return env


def run(module: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", module, *args], env=env, capture_output=True, text=True,
                          timeout=BOUND_S, cwd=REPO)


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


#: command ▸ (argv, the name it prints, extra environment it needs to get as far as the broker)
APPS = {
    "analyzer": (["apps.analyzer"], "analyzer", {}),
    "notifier": (["apps.notifier"], "notifier", {"NOTIFIER_PORT": "0"}),
    "crawler": (["apps.crawler", "--quiet"], "crawler", {}),
    "line_bot": (["apps.line_bot"], "line_bot", {"CHANNEL_SECRET": "s", "CHANNEL_ACCESS_TOKEN": "t", "PORT": "0"}),
    "controller": (["workers", "worker"], "workers worker", {}),
}


@pytest.mark.parametrize("command", sorted(APPS))
def test_a_missing_broker_is_one_line_naming_the_address_and_the_variable(command, tmp_path):
    argv, name, extra = APPS[command]
    address = closed_address()
    env = environment(KAFKA_BOOTSTRAP_SERVERS=address, TEMPORAL_ADDRESS=closed_address(), state=str(tmp_path),
                      **extra)
    result = run(argv[0], *argv[1:], env=env)
    assert result.returncode == 1, result.stderr
    assert last_line(result.stderr) == (
        f"{name}: no Kafka broker answered at {address} (KAFKA_BOOTSTRAP_SERVERS) within {START_TIMEOUT_S} s "
        "(SIAGA_START_TIMEOUT): start it, or point KAFKA_BOOTSTRAP_SERVERS at one"), result.stderr
    for noise in ("Traceback", "Unclosed", "Task exception was never retrieved"):
        assert noise not in result.stderr, result.stderr


def test_the_error_names_the_seed_variable_the_address_came_from(tmp_path):
    address = closed_address()
    env = environment(ANALYZER_CONSUMER_SERVERS=address, KAFKA_BOOTSTRAP_SERVERS=closed_address(),
                      state=str(tmp_path))
    result = run("apps.analyzer", env=env)
    assert result.returncode == 1, result.stderr
    assert f"at {address} (ANALYZER_CONSUMER_SERVERS)" in last_line(result.stderr), result.stderr


def test_the_discord_bot_stops_at_once_naming_the_variable(tmp_path):
    address = closed_address()
    result = run("apps.discord_bot", env=environment(TOKEN="not-a-token", DISCORD_ANALYZER_SERVERS=address,
                                                     state=str(tmp_path)))
    assert result.returncode == 1, result.stderr
    line = last_line(result.stderr)
    assert line.startswith(f"discord_bot: cannot start: the broker at {address} is unreachable"), result.stderr
    assert line.endswith("point DISCORD_ANALYZER_SERVERS at one"), result.stderr
    assert "Traceback" not in result.stderr and "Unclosed" not in result.stderr, result.stderr


def test_the_worker_without_temporal_is_one_line_after_one_warning(kafka_bootstrap, tmp_path):
    address = closed_address()
    result = run("workers", "worker", env=environment(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap,
                                                      TEMPORAL_ADDRESS=address, state=str(tmp_path)))
    assert result.returncode == 1, result.stderr
    assert last_line(result.stderr) == (
        f"workers worker: no Temporal server answered at {address} (TEMPORAL_ADDRESS) within {START_TIMEOUT_S} s "
        "(SIAGA_START_TIMEOUT): start one (python -m workers stack), or point TEMPORAL_ADDRESS at one")
    assert result.stderr.count("waiting for Temporal") == 1, result.stderr
    assert "Traceback" not in result.stderr and "tonic" not in result.stderr, result.stderr


def test_status_without_temporal_is_exactly_one_line(tmp_path):
    address = closed_address()
    result = run("workers", "status", env=environment(TEMPORAL_ADDRESS=address, state=str(tmp_path)))
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"workers status: no Temporal server answers at {address} (TEMPORAL_ADDRESS): connection refused; "
        "start one (python -m workers stack), or point TEMPORAL_ADDRESS at one"]


def test_the_dlq_tool_without_a_broker_is_exactly_one_line(tmp_path):
    address = closed_address()
    result = run("fogverse.dlq", "list", "analyze", env=environment(KAFKA_BOOTSTRAP_SERVERS=address,
                                                                    state=str(tmp_path)))
    assert result.returncode == 1
    [line] = result.stderr.splitlines()
    assert line.startswith(f"fogverse.dlq: no Kafka broker answered at {address}")
    assert line.endswith("point KAFKA_BOOTSTRAP_SERVERS at one")


def stopped_while_waiting(argv: list[str], sig: int, env: dict[str, str], waiting: str) -> None:
    """Start ``argv``, wait for the line saying it waits, signal it: it must exit 0 soon after."""
    process = subprocess.Popen([sys.executable, "-m", *argv], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        deadline = time.monotonic() + BOUND_S
        waited = ""
        while waiting not in waited and time.monotonic() < deadline and process.poll() is None:
            waited += process.stderr.readline()
        assert waiting in waited, waited
        process.send_signal(sig)
        out, err = process.communicate(timeout=15)  # TimeoutExpired: the stop was ignored
        assert process.returncode == 0, waited + err
        assert "Traceback" not in err and "Unclosed" not in err, err
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("argv, sig", [(["workers", "worker"], signal.SIGINT), (["apps.crawler"], signal.SIGTERM),
                                       (["apps.crawler"], signal.SIGINT), (["apps.analyzer"], signal.SIGINT)])
def test_a_stop_while_waiting_for_the_broker_is_not_held_up(argv, sig, tmp_path):
    env = environment(KAFKA_BOOTSTRAP_SERVERS=closed_address(), SIAGA_START_TIMEOUT="0", state=str(tmp_path))
    stopped_while_waiting(argv, sig, env, "waiting for the broker")


def test_ctrl_c_while_the_worker_waits_for_temporal_stops_it(kafka_bootstrap, tmp_path):
    env = environment(KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, TEMPORAL_ADDRESS=closed_address(),
                      SIAGA_START_TIMEOUT="0", state=str(tmp_path))
    stopped_while_waiting(["workers", "worker"], signal.SIGINT, env, "waiting for Temporal")


# ─── --help ────────────────────────────────────────────────────────────────────────────────


class Recording(dict):
    """An environment that notes every name a settings class looks up."""

    def __init__(self):
        super().__init__()
        self.read: list[str] = []

    def get(self, name, default=None):
        self.read.append(name)
        return super().get(name, default)


def read_by(*readers) -> set[str]:
    from fogverse.settings import ConfigError

    env = Recording()
    for read in readers:
        try:
            read(env)
        except ConfigError:  # a required secret: it was looked up all the same
            pass
    return set(env.read)


def _readers():
    from apps.notifier.outbox import OutboxSettings
    from fogverse.lifecycle import StartTimeout
    from fogverse.runtime import BatchTiming
    from apps.analyzer.settings import AnalyzerSettings
    from workers.settings import ControllerSettings, StackSettings
    from apps.crawler.settings import CrawlerSettings
    from apps.discord_bot.settings import DiscordSettings
    from fogverse.settings import KafkaSecurity, LogSettings, RuntimeSettings
    from apps.line_bot.settings import LineSettings
    from apps.notifier.settings import NotifierSettings

    every = (KafkaSecurity.from_env, LogSettings.from_env, StartTimeout.from_env)

    def runtime(var):
        return lambda env: RuntimeSettings.from_env(env, bootstrap_var=var)

    return {
        ("apps.analyzer",): (AnalyzerSettings.from_env, BatchTiming.from_env, runtime("ANALYZER_CONSUMER_SERVERS"),
                             *every),
        ("apps.notifier",): (NotifierSettings.from_env, OutboxSettings.from_env, BatchTiming.from_env,
                             runtime("CLIENT_CONSUMER_SERVERS"), *every),
        ("apps.crawler",): (CrawlerSettings.from_env, runtime("CRAWLER_ANALYZER_SERVERS"), *every),
        ("apps.discord_bot",): (DiscordSettings.from_env, runtime("DISCORD_ANALYZER_SERVERS"), *every),
        ("apps.line_bot",): (LineSettings.from_env, runtime("BOOTSTRAP_SERVERS"), *every),
        ("workers",): (ControllerSettings.from_env, *every),
        ("workers", "worker"): (ControllerSettings.from_env, *every),
        ("workers", "up"): (StackSettings.from_env, ControllerSettings.from_env, *every),
        ("workers", "stack"): (StackSettings.from_env, *every),
        ("workers", "install-kafka"): (StackSettings.from_env, LogSettings.from_env),
        ("workers", "status"): (ControllerSettings.from_env, LogSettings.from_env),
        ("fogverse.dlq",): (RuntimeSettings.from_env, KafkaSecurity.from_env),
        ("fogverse.dlq", "list"): (RuntimeSettings.from_env, KafkaSecurity.from_env),
        ("fogverse.dlq", "replay"): (RuntimeSettings.from_env, KafkaSecurity.from_env),
    }


HELP_COMMANDS = sorted(_readers())
#: a purpose each help text must state (from its description)
PURPOSE = {"apps.analyzer": "emergency analyzer", "apps.notifier": "notifier", "apps.crawler": "Replay a CSV",
           "apps.discord_bot": "Discord bot", "apps.line_bot": "LINE bot", "workers": "control plane",
           "fogverse.dlq": "dead-letter"}
#: spot checks of the defaults shown: variable ▸ default
DEFAULTS = {"KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:9092", "LOG_FORMAT": "text", "LOG_LEVEL": "INFO",
            "SIAGA_START_TIMEOUT": "60", "ANALYZER_CONSUMER_TOPIC": "analyze", "NOTIFIER_PORT": "8000",
            "TOKEN": "required", "CHANNEL_SECRET": "required", "TEMPORAL_ADDRESS": "127.0.0.1:7233",
            "BATCH_SIZE": "256", "DLQ_SUFFIX": ".dlq", "CRAWLER_RATE": "20", "KAFKA_PORT": "9092"}


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=" ".join)
def test_help_says_what_a_command_does_and_every_variable_it_reads_and_starts_nothing(command, tmp_path):
    port = free_port()
    # no TOKEN, no secrets, a broker nobody runs: --help must need none of them
    env = environment(KAFKA_BOOTSTRAP_SERVERS=closed_address(), NOTIFIER_PORT=str(port), PORT=str(port),
                      state=str(tmp_path))
    result = run(command[0], *command[1:], "--help", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stderr == "", "--help started something that logs"
    text = result.stdout
    assert text.startswith("usage: python -m " + " ".join(command)), text
    purpose = PURPOSE.get(command[0])
    if len(command) == 1:
        assert purpose in text, text
    section = text.split("environment variables (default; rule):", 1)[1]
    shown = {line.split()[0]: line for line in section.splitlines() if line.startswith("  ")}
    missing = read_by(*_readers()[command]) - set(shown)
    assert not missing, f"{' '.join(command)} --help does not list {sorted(missing)}"
    for name, default in DEFAULTS.items():
        if name in shown and not (command[1:] in (("stack",), ("install-kafka",), ("up",))
                                  and name.startswith(("KAFKA_B", "T"))):
            # (the stack: unset ▸ it starts its own broker and Temporal server)
            assert shown[name].split()[1:2] == [default] or f"or {default}" in shown[name], \
                f"{' '.join(command)}: {shown[name]!r} shown, default {default!r}"
    assert not (tmp_path / "siaga-cli-state").exists(), "--help created state"


# ─── LOG_LEVEL and LOG_FORMAT ──────────────────────────────────────────────────────────────


@pytest.mark.parametrize("environ, level, form", [
    ({}, "INFO", "text"),
    ({"LOG_LEVEL": "debug", "LOG_FORMAT": "JSON"}, "DEBUG", "json"),
    ({"LOG_LEVEL": " warning "}, "WARNING", "text"),
    ({"LOG_LEVEL": ""}, "INFO", "text"),
])
def test_log_settings(environ, level, form):
    from fogverse.settings import LogSettings

    assert LogSettings.from_env(environ) == LogSettings(level=level, format=form)


@pytest.mark.parametrize("environ, named", [({"LOG_LEVEL": "loud"}, "LOG_LEVEL"), ({"LOG_LEVEL": "20"}, "LOG_LEVEL"),
                                            ({"LOG_FORMAT": "xml"}, "LOG_FORMAT")])
def test_a_bad_log_setting_names_the_variable(environ, named):
    from fogverse.settings import ConfigError, LogSettings

    with pytest.raises(ConfigError, match=f"^{named} must be one of"):
        LogSettings.from_env(environ)


def test_a_json_record_is_one_object_with_time_level_logger_message_and_the_extras():
    import json
    import logging

    from fogverse.logs import JsonFormatter

    logger = logging.getLogger("siaga.test-json")
    record = logger.makeRecord(logger.name, logging.WARNING, __file__, 1, "lag %d on %s", (42, "analyze"), None,
                               extra={"service": "analyzer", "partitions": [0, 1]})
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "WARNING" and entry["logger"] == "siaga.test-json"
    assert entry["message"] == "lag 42 on analyze"
    assert entry["service"] == "analyzer" and entry["partitions"] == [0, 1]
    assert entry["time"].endswith("+00:00") and "T" in entry["time"]
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        import sys as _sys

        failed = logger.makeRecord(logger.name, logging.ERROR, __file__, 1, "failed", (), _sys.exc_info())
    entry = json.loads(JsonFormatter().format(failed))
    assert "ValueError: boom" in entry["exception"] and "Traceback" in entry["exception"]


@pytest.mark.parametrize("argv", [["apps.analyzer"], ["apps.crawler"], ["workers", "worker"]], ids=" ".join)
def test_log_format_json_makes_every_log_line_one_json_object(argv, tmp_path):
    import json

    result = run(argv[0], *argv[1:], env=environment(LOG_FORMAT="json", KAFKA_BOOTSTRAP_SERVERS=closed_address(),
                                                     state=str(tmp_path)))
    assert result.returncode == 1, result.stderr
    *logged, error = [line for line in result.stderr.splitlines() if line.strip()]
    assert logged, result.stderr  # at least "waiting for the broker"
    for line in logged:
        entry = json.loads(line)
        assert {"time", "level", "logger", "message"} <= set(entry), line
    assert any("waiting for the broker" in json.loads(line)["message"] for line in logged)
    assert "no Kafka broker answered" in error  # the one-line error stays a plain line


@pytest.mark.parametrize("argv", [["apps.analyzer"], ["apps.notifier"], ["apps.crawler"], ["workers", "worker"],
                                  ["workers", "status"]], ids=" ".join)
@pytest.mark.parametrize("variable, value", [("LOG_LEVEL", "loud"), ("LOG_FORMAT", "xml")])
def test_a_bad_log_setting_stops_each_command_at_start(argv, variable, value, tmp_path):
    result = run(argv[0], *argv[1:], env=environment(**{variable: value}, KAFKA_BOOTSTRAP_SERVERS=closed_address(),
                                                     TEMPORAL_ADDRESS=closed_address(), state=str(tmp_path)))
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert f"configuration error: {variable} must be one of" in line and repr(value) in line, line


@pytest.mark.parametrize("value, says", [("soon", "must be an integer"), ("-1", "must be at least 0"),
                                         ("40000", "must be at most 30000")])
def test_a_bad_fetch_wait_stops_an_app_at_start_naming_the_variable(value, says, tmp_path):
    result = run("apps.analyzer", env=environment(FETCH_MAX_WAIT_MS=value, KAFKA_BOOTSTRAP_SERVERS=closed_address(),
                                                  state=str(tmp_path)))
    assert result.returncode == 2, result.stderr
    [line] = result.stderr.splitlines()
    assert f"configuration error: FETCH_MAX_WAIT_MS {says}" in line, line
