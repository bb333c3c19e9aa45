"""``python -m apps.notifier``: consume ``client``, track incidents, push alerts, serve the receiver."""

from __future__ import annotations

from apps.notifier.app import SERVICE, Notifier
from fogverse.lifecycle import main_entry, run_until_signalled
from apps.notifier.settings import NotifierSettings
from fogverse.settings import RuntimeSettings


async def _main() -> None:
    settings = NotifierSettings.from_env()
    runtime = RuntimeSettings.from_env(bootstrap_var="CLIENT_CONSUMER_SERVERS", service_name=SERVICE)
    await run_until_signalled(Notifier(settings, runtime))


def _help() -> None:
    from apps.notifier.heap import HeapSettings
    from apps.notifier.outbox import OutboxSettings
    from fogverse.lifecycle import parse_command_line
    from fogverse.runtime import BatchTiming

    parse_command_line(
        "python -m apps.notifier",
        "Siaga's notifier: consumes analyses from the client topic, groups them into incidents, pushes "
        "alerts (Firebase Cloud Messaging, when FIREBASE_KEY is set) and serves the receiver web app and "
        "its API at http://NOTIFIER_HOST:NOTIFIER_PORT/.",
        NotifierSettings, OutboxSettings, HeapSettings, BatchTiming, RuntimeSettings)


if __name__ == "__main__":
    _help()
    main_entry(SERVICE, _main)
