"""The supervisor (`python -m workers up` / `stack`), the broker probe, and settings errors."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fogverse.broker import BrokerUnavailable, UnsupportedByBroker, probe
from fogverse.processes import free_port
from apps.analyzer.settings import AnalyzerSettings
from fogverse.settings import ConfigError, RuntimeSettings
from workers.settings import ControllerSettings, StackSettings
from workers.kafka_broker import pinned_version
from workers.stack import choose_broker

REPO = Path(__file__).resolve().parents[1]


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def start_supervisor(tmp_path: Path, command: str = "stack", **extra: str) -> tuple[subprocess.Popen, dict]:
    ports = {"KAFKA_PORT": free_port(), "KAFKA_CONTROLLER_PORT": free_port(), "TEMPORAL_PORT": free_port(),
             "TEMPORAL_UI_PORT": free_port()}
    env = {k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS", "TEMPORAL_ADDRESS")}
    env.update({k: str(v) for k, v in ports.items()}, SIAGA_STATE_DIR=str(tmp_path / "state"), PYTHONPATH=str(REPO),
               **extra)
    proc = subprocess.Popen([sys.executable, "-m", "workers", command], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc, ports


def read_until_banner(proc: subprocess.Popen, timeout_s: float = 120) -> str:
    lines = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        if line.startswith("Ctrl-C stops everything"):
            return "".join(lines)
    proc.kill()
    raise AssertionError("the supervisor never said it was up:\n" + "".join(lines))


def test_supervisor_brings_up_apache_kafka_and_temporal_and_leaves_no_processes_on_sigterm(tmp_path, apache_kafka):
    proc, ports = start_supervisor(tmp_path)
    try:
        banner = read_until_banner(proc)
        children = descendants(proc.pid)
        assert len(children) >= 2, "Apache Kafka and the Temporal server run as children"
        assert re.search(rf"kafka\s+127.0.0.1:{ports['KAFKA_PORT']}\s+Apache Kafka {pinned_version()} \(embedded, KRaft", banner)
        assert "chose kafka: Java" in banner
        assert f"127.0.0.1:{ports['TEMPORAL_PORT']}" in banner
        assert f"http://127.0.0.1:{ports['TEMPORAL_UI_PORT']}" in banner
        assert re.search(r"yes\s+partition growth \(CreatePartitions\)", banner)
        assert "cannot:" not in banner
        assert "analyze (1)" in banner, "on a broker that grows partitions, topics start with one"
        # the Temporal UI answers over real HTTP
        import urllib.request

        with urllib.request.urlopen(f"http://127.0.0.1:{ports['TEMPORAL_UI_PORT']}/", timeout=10) as response:
            assert response.status == 200
        assert (tmp_path / "state" / "temporal.db").exists(), "Temporal keeps its state on disk"
        assert (tmp_path / "state" / "kafka" / "data" / "meta.properties").exists(), "Kafka keeps its data on disk"
        report = subprocess.run([sys.executable, "-m", "fogverse.broker", f"127.0.0.1:{ports['KAFKA_PORT']}"],
                                env=dict(os.environ, SIAGA_STATE_DIR=str(tmp_path / "state"), PYTHONPATH=str(REPO)),
                                cwd=REPO, capture_output=True, text=True, timeout=60)
        facts = json.loads(report.stdout)
        assert facts["broker"] == "Apache Kafka"
        assert facts["version"].startswith(f"Apache Kafka {pinned_version()} (embedded")
        assert facts["features"]["partition growth (CreatePartitions)"]["supported"] is True
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    assert "siaga: stopped" in out
    time.sleep(0.5)
    assert not [pid for pid in children if alive(pid)], "no process may outlive the supervisor"


def test_apache_kafka_keeps_topics_and_messages_across_a_stack_restart(tmp_path, apache_kafka):
    """The embedded broker's data lives in the state directory: a second start reuses it."""
    import asyncio

    from kafka_helpers import produce, read_until

    proc, ports = start_supervisor(tmp_path)
    bootstrap = f"127.0.0.1:{ports['KAFKA_PORT']}"
    try:
        read_until_banner(proc)
        asyncio.run(produce(bootstrap, "kept", [b"one", b"two", b"three"]))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    cluster = (tmp_path / "state" / "kafka" / "data" / "meta.properties").read_text()
    env = {k: str(v) for k, v in ports.items()}
    proc = subprocess.Popen([sys.executable, "-m", "workers", "stack"], cwd=REPO, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**{k: v for k, v in os.environ.items() if k not in ("KAFKA_BOOTSTRAP_SERVERS",
                                                                                    "TEMPORAL_ADDRESS")},
                                 **env, "SIAGA_STATE_DIR": str(tmp_path / "state"), "PYTHONPATH": str(REPO)})
    try:
        banner = read_until_banner(proc)
        assert "(created" not in banner.split("topics", 1)[1].splitlines()[0], "the topics are still there"
        records = asyncio.run(read_until(bootstrap, "kept", lambda r: len(r) >= 3, timeout_s=30))
        assert [r.value for r in records] == [b"one", b"two", b"three"]
        assert (tmp_path / "state" / "kafka" / "data" / "meta.properties").read_text() == cluster, "not reformatted"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)


def test_supervisor_on_tansu_says_what_it_cannot_do(tmp_path):
    proc, ports = start_supervisor(tmp_path, SIAGA_BROKER="tansu")
    try:
        banner = read_until_banner(proc)
        assert re.search(rf"kafka\s+127.0.0.1:{ports['KAFKA_PORT']}\s+tansu \(embedded, memory only\)", banner)
        assert "chose tansu: SIAGA_BROKER=tansu" in banner
        assert "cannot: keeps messages in memory only" in banner
        assert re.search(r"NO\s+partition growth \(CreatePartitions\)\s+\(missing CreatePartitions \(API key 37\)\)", banner)
        assert "analyze (2)" in banner, "without growth the consumed topics start with room for a second instance"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out


def test_forcing_apache_kafka_without_its_jars_fails_naming_the_setting(tmp_path):
    env = dict(os.environ, SIAGA_BROKER="kafka", SIAGA_KAFKA_HOME=str(tmp_path / "no-kafka-here"),
               SIAGA_STATE_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    env.pop("KAFKA_BOOTSTRAP_SERVERS", None)
    result = subprocess.run([sys.executable, "-m", "workers", "stack"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "SIAGA_BROKER=kafka, but Apache Kafka cannot run here" in result.stderr
    assert str(tmp_path / "no-kafka-here") in result.stderr


def test_auto_falls_back_to_tansu_saying_why(tmp_path):
    settings = StackSettings.from_env({"SIAGA_KAFKA_HOME": str(tmp_path / "empty")})
    choice = choose_broker(settings)
    assert choice.kind == "tansu"
    assert choice.reason.startswith("Apache Kafka unavailable: ")


def test_children_die_with_a_supervisor_killed_by_sigkill(tmp_path):
    proc, _ = start_supervisor(tmp_path)
    read_until_banner(proc)
    children = descendants(proc.pid)
    assert children
    proc.kill()
    proc.wait(10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and [pid for pid in children if alive(pid)]:
        time.sleep(0.2)
    assert not [pid for pid in children if alive(pid)], "children must not be orphaned"


def test_supervisor_uses_given_servers_and_starts_none(tmp_path, kafka_bootstrap, temporal_address):
    env = dict(os.environ, KAFKA_BOOTSTRAP_SERVERS=kafka_bootstrap, TEMPORAL_ADDRESS=temporal_address,
               SIAGA_STATE_DIR=str(tmp_path / "state"), PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "workers", "stack"], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        banner = read_until_banner(proc)
        assert f"kafka     {kafka_bootstrap}" in banner
        assert f"temporal  {temporal_address}" in banner
        assert not descendants(proc.pid), "nothing is started when addresses are given"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def test_bad_setting_stops_the_supervisor_naming_the_variable(tmp_path):
    env = dict(os.environ, KAFKA_PORT="ninety", SIAGA_STATE_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "workers", "stack"], env=env, cwd=REPO,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "KAFKA_PORT must be an integer, got 'ninety'" in result.stderr


async def test_probe_reports_what_apache_kafka_can_do(apache_kafka):
    caps = await probe(apache_kafka)
    assert caps.flavor() == "Apache Kafka"
    for feature in caps.report()["features"]:
        caps.require(feature)
    assert caps.report()["features"]["partition growth (CreatePartitions)"]["supported"] is True


async def test_probe_reports_what_tansu_can_and_cannot_do(tansu_bootstrap):
    caps = await probe(tansu_bootstrap)
    assert caps.flavor() != "Apache Kafka"
    assert caps.supports("Produce") and caps.supports("Fetch") and caps.supports("DescribeGroups")
    assert not caps.supports("CreatePartitions")
    caps.require("pipeline (produce, consume, commit)")
    with pytest.raises(UnsupportedByBroker, match=r"CreatePartitions \(Kafka API key 37\)"):
        caps.require("partition growth (CreatePartitions)")
    report = caps.report()
    assert report["features"]["partition growth (CreatePartitions)"]["supported"] is False


async def test_probe_of_a_closed_port_says_no_broker_answered():
    with pytest.raises(BrokerUnavailable, match="no Kafka broker answered"):
        await probe(f"127.0.0.1:{free_port()}", timeout_s=2)


@pytest.mark.parametrize("settings_class, env, message", [
    (RuntimeSettings, {"BATCH_SIZE": "lots"}, "BATCH_SIZE must be an integer, got 'lots'"),
    (RuntimeSettings, {"BATCH_SIZE": "0"}, "BATCH_SIZE must be at least 1, got 0"),
    (RuntimeSettings, {"CLOUD_PROVIDER": "AZURE"}, "CLOUD_PROVIDER must be one of LOCAL, GOOGLE_CLOUD, AWS"),
    (AnalyzerSettings, {"ANALYZER_MODE": "turbo"}, "ANALYZER_MODE must be one of serial, parallel"),
    (ControllerSettings, {"INPUT_OUTPUT_RATIO_THRESHOLD": "1.5"}, "INPUT_OUTPUT_RATIO_THRESHOLD must be at most 1.0"),
    (ControllerSettings, {"Z_VALUE": "two"}, "Z_VALUE must be a number, got 'two'"),
])
def test_bad_values_fail_naming_the_variable(settings_class, env, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        settings_class.from_env(env)


def test_seed_names_and_defaults():
    analyzer = AnalyzerSettings.from_env({})
    assert (analyzer.consumer_topic, analyzer.producer_topic, analyzer.consumer_group_id) == ("analyze", "client", "analyzer")
    controller = ControllerSettings.from_env({})
    assert controller.input_output_ratio_threshold == 0.7 and controller.z_value == 2.0
    assert controller.window_max_second == 300 and controller.observer_topic == "observer"
    seed_specific = AnalyzerSettings.from_env({"ANALYZER_CONSUMER_SERVERS": "a:1", "KAFKA_BOOTSTRAP_SERVERS": "b:2"})
    assert seed_specific.bootstrap_servers == "a:1", "a seed's own variable wins over the shared one"
    assert AnalyzerSettings.from_env({"KAFKA_BOOTSTRAP_SERVERS": "b:2"}).bootstrap_servers == "b:2"


def test_up_restarts_a_child_killed_by_sigkill_with_a_growing_backoff_and_counts_the_restarts(tmp_path):
    from workers.up import ChildSupervisor, Component

    def restarted(supervisor, old_pid: int, timeout_s: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < timeout_s:
            supervisor.poll()
            process = supervisor.processes[0]
            if process.pid != old_pid and process.alive():
                return time.monotonic() - started
            time.sleep(0.05)
        raise AssertionError(f"not restarted within {timeout_s} s")

    # a stand-in app that runs until it is killed; its variables are the common ones (PYTHON*, PATH…)
    child = Component("standin", "http.server", "reaper", ("0", "--bind", "127.0.0.1"))
    supervisor = ChildSupervisor((child,), dict(os.environ), tmp_path / "logs", backoff_s=0.5, max_backoff_s=5)
    supervisor.start()
    try:
        first = supervisor.processes[0].pid
        os.kill(first, signal.SIGKILL)
        took_first = restarted(supervisor, first, 10)
        second = supervisor.processes[0].pid
        os.kill(second, signal.SIGKILL)
        took_second = restarted(supervisor, second, 10)
        assert supervisor.restarts("standin") == 2
        assert 0.5 <= took_first < took_second, (took_first, took_second)  # the backoff doubles: 0.5 s, 1 s
        log = (tmp_path / "logs" / "standin.log").read_text()
        assert "restart 1 of standin" in log and "restart 2 of standin" in log, log
        assert not alive(first) and not alive(second)
    finally:
        supervisor.stop()
    assert not supervisor.processes[0].alive()


def test_up_does_not_restart_a_child_that_exited_with_a_configuration_error(tmp_path):
    from workers.up import ChildSupervisor, Component

    bad = Component("badconfig", "runtime_test_app", "reaper")
    env = dict(os.environ, PYTHONPATH=f"{REPO}:{REPO / 'tests'}", BATCH_SIZE="0")  # exit 2, naming BATCH_SIZE
    supervisor = ChildSupervisor((bad,), env, tmp_path / "logs", backoff_s=0.1)
    supervisor.start()
    try:
        code = supervisor.processes[0].popen.wait(60)
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            supervisor.poll()
            time.sleep(0.05)
        assert code == 2 and "BATCH_SIZE" in supervisor.processes[0].tail(), supervisor.processes[0].tail()
        assert supervisor.restarts("badconfig") == 0
    finally:
        supervisor.stop()
