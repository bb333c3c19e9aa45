"""Rules every settings class keeps: one default per setting, cross-field checks at start, and
secrets never in a repr (what a log line or a traceback would print)."""

from __future__ import annotations

import dataclasses
import os
import re

import pytest

from fogverse.settings import (ConfigError, ControllerSettings, DiscordSettings, KafkaSecurity, LineSettings,
                               NotifierSettings, RuntimeSettings)

SECRET = "s3cr3t-value-that-must-not-show"


def test_a_runtime_setting_left_unset_has_the_same_value_however_the_settings_are_made():
    by_class, by_env = RuntimeSettings(), RuntimeSettings.from_env({})
    for spec in dataclasses.fields(RuntimeSettings):
        assert getattr(by_class, spec.name) == getattr(by_env, spec.name), f"{spec.name} has two defaults"
    assert by_env.worker_threads == max(1, os.cpu_count() or 1), "WORKER_THREADS defaults to the CPU count"


def test_the_controller_stops_when_min_instance_is_above_max_instance():
    with pytest.raises(ConfigError, match=re.escape("MIN_INSTANCE=4 is above MAX_INSTANCE=3")):
        ControllerSettings.from_env({"MIN_INSTANCE": "4"})
    with pytest.raises(ConfigError, match="MIN_INSTANCE=2 is above MAX_INSTANCE=1"):
        ControllerSettings.from_env({"MIN_INSTANCE": "2", "MAX_INSTANCE": "1"})
    equal = ControllerSettings.from_env({"MIN_INSTANCE": "2", "MAX_INSTANCE": "2"})
    assert (equal.min_instance, equal.max_instance) == (2, 2)


@pytest.mark.parametrize("settings_class, env", [
    (DiscordSettings, {"TOKEN": SECRET}),
    (LineSettings, {"CHANNEL_SECRET": SECRET, "CHANNEL_ACCESS_TOKEN": SECRET + "-2"}),
    (NotifierSettings, {"FIREBASE_KEY": '{"private_key": "%s"}' % SECRET}),
    (KafkaSecurity, {"KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT", "KAFKA_SASL_USERNAME": "siaga",
                     "KAFKA_SASL_PASSWORD": SECRET}),
], ids=lambda v: v.__name__ if isinstance(v, type) else "")
def test_secrets_are_read_but_never_in_the_repr(settings_class, env):
    settings = settings_class.from_env(env)
    assert SECRET in str(dataclasses.astuple(settings)), "the secret is read"
    for text in (repr(settings), str(settings), f"{settings}", "%r" % (settings,)):
        assert SECRET not in text


def test_the_command_line_error_for_min_above_max_names_both_variables(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    result = subprocess.run([sys.executable, "-m", "workers", "worker"], cwd=repo, capture_output=True, text=True,
                            timeout=60, env={**os.environ, "MIN_INSTANCE": "5", "MAX_INSTANCE": "2",
                                             "SIAGA_STATE_DIR": str(tmp_path)})
    assert result.returncode == 2, result.stderr
    assert "MIN_INSTANCE=5" in result.stderr and "MAX_INSTANCE=2" in result.stderr
    assert "Traceback" not in result.stderr
