"""What each child process may see of its parent's environment: its service's own variables and
the shared ones, never another service's secrets (``fogverse.processes.child_env``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from fogverse.processes import COMMON_VARIABLES, SERVICE_VARIABLES, allowed, child_env
from apps.analyzer.settings import AnalyzerSettings
from workers.settings import ControllerSettings
from apps.crawler.settings import CrawlerSettings
from apps.discord_bot.settings import DiscordSettings
from fogverse.settings import KafkaSecurity, RuntimeSettings
from apps.line_bot.settings import LineSettings
from apps.notifier.settings import NotifierSettings
from workers.up import COMPONENTS, Component

REPO = Path(__file__).resolve().parents[1]
SECRETS = {"TOKEN": "discord-secret", "CHANNEL_SECRET": "line-secret", "CHANNEL_ACCESS_TOKEN": "line-token",
           "FIREBASE_KEY": '{"private_key": "firebase-secret"}'}
#: which secret belongs to whom
OWNER = {"TOKEN": "discord_bot", "CHANNEL_SECRET": "line_bot", "CHANNEL_ACCESS_TOKEN": "line_bot",
         "FIREBASE_KEY": "notifier"}


class Recording(dict):
    """An environment that notes every name a settings class looks up."""

    def __init__(self, values: dict[str, str]):
        super().__init__(values)
        self.read: set[str] = set()

    def get(self, name, default=None):
        self.read.add(name)
        return super().get(name, default)

    def __getitem__(self, name):
        self.read.add(name)
        return super().__getitem__(name)


READERS = {
    "analyzer": lambda env: (AnalyzerSettings.from_env(env),
                             RuntimeSettings.from_env(env, bootstrap_var="ANALYZER_CONSUMER_SERVERS")),
    "notifier": lambda env: (NotifierSettings.from_env(env),
                             RuntimeSettings.from_env(env, bootstrap_var="CLIENT_CONSUMER_SERVERS")),
    "crawler": lambda env: (CrawlerSettings.from_env(env),
                            RuntimeSettings.from_env(env, bootstrap_var="CRAWLER_ANALYZER_SERVERS")),
    "discord_bot": lambda env: (DiscordSettings.from_env(env),
                                RuntimeSettings.from_env(env, bootstrap_var="DISCORD_ANALYZER_SERVERS")),
    "line_bot": lambda env: (LineSettings.from_env(env), RuntimeSettings.from_env(env, bootstrap_var="BOOTSTRAP_SERVERS")),
    "controller": lambda env: (ControllerSettings.from_env(env), RuntimeSettings.from_env(env)),
}


@pytest.mark.parametrize("service", sorted(READERS))
def test_each_service_is_passed_every_variable_its_settings_read(service):
    env = Recording(dict(SECRETS))
    READERS[service](env)
    KafkaSecurity.from_env(env)
    patterns = (*COMMON_VARIABLES, *SERVICE_VARIABLES[service])
    missing = sorted(name for name in env.read if not allowed(name, patterns))
    assert not missing, f"{service} reads {missing}, which its parent would not pass on"


@pytest.mark.parametrize("secret", sorted(SECRETS))
def test_a_secret_goes_to_its_service_alone(secret):
    for service in SERVICE_VARIABLES:
        given = secret in child_env(service, SECRETS)
        # the controller starts LOCAL notifier instances, so it passes the notifier's key on
        expected = service == OWNER[secret] or (service == "controller" and OWNER[secret] == "notifier")
        assert given == expected, f"{service} {'gets' if given else 'lacks'} {secret}"
    unlisted = child_env("my_own_service", {**SECRETS, "MY_SETTING": "1", "AWS_SECRET_ACCESS_KEY": "x"})
    assert unlisted == {"MY_SETTING": "1"}, "a service nobody listed gets everything but the secrets"


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.split("=", 1) for item in raw.decode().split("\0") if "=" in item)


def test_up_starts_each_component_with_its_own_variables_only(tmp_path):
    environ = {**os.environ, **SECRETS, "ANALYZER_MODE": "parallel", "PYTHONPATH": f"{REPO}:{REPO / 'tests' / 'controller'}"}
    analyzer = Component("analyzer", "controller_silent_app", "analyzer").process(environ, tmp_path).start()
    discord = Component("discord", "controller_silent_app", "discord_bot").process(environ, tmp_path).start()
    try:
        seen_by_analyzer, seen_by_discord = environ_of(analyzer.pid), environ_of(discord.pid)
    finally:
        analyzer.stop(5)
        discord.stop(5)
    assert not set(SECRETS) & set(seen_by_analyzer), "the analyzer holds a secret"
    assert seen_by_analyzer["ANALYZER_MODE"] == "parallel" and seen_by_analyzer["PATH"] == os.environ["PATH"]
    assert seen_by_discord["TOKEN"] == SECRETS["TOKEN"]
    assert not {"CHANNEL_SECRET", "CHANNEL_ACCESS_TOKEN", "FIREBASE_KEY", "ANALYZER_MODE"} & set(seen_by_discord)


def test_every_component_of_up_names_a_listed_service():
    assert {c.service for c in COMPONENTS} <= set(SERVICE_VARIABLES)


def test_up_gives_each_component_its_own_metrics_port_alone():
    ports = {"ANALYZER_METRICS_PORT": "9101", "CRAWLER_METRICS_PORT": "9102", "DISCORD_METRICS_PORT": "9103",
             "LINE_METRICS_PORT": "9104", "CONTROLLER_METRICS_PORT": "9100"}
    own = {"analyzer": "ANALYZER_METRICS_PORT", "crawler": "CRAWLER_METRICS_PORT", "discord_bot": "DISCORD_METRICS_PORT",
           "line_bot": "LINE_METRICS_PORT", "controller": "CONTROLLER_METRICS_PORT", "notifier": None}
    environ = {**ports, "METRICS_HOST": "0.0.0.0"}
    for component in COMPONENTS:
        env = child_env(component.service, environ)
        assert env["METRICS_HOST"] == "0.0.0.0", component.name
        given = {name for name in ports if name in env}
        if component.service == "controller":  # it carries the analyzer's variables for its LOCAL
            given.discard("ANALYZER_METRICS_PORT")  # instances, which drop every *_METRICS_PORT
        assert given == ({own[component.service]} if own[component.service] else set()), component.name
