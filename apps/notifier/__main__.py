"""``python -m apps.notifier``: consume ``client``, track incidents, push alerts, serve the receiver."""

from __future__ import annotations

from apps.notifier.app import SERVICE, Notifier
from fogverse.lifecycle import main_entry, run_until_signalled
from fogverse.settings import NotifierSettings, RuntimeSettings


async def _main() -> None:
    settings = NotifierSettings.from_env()
    runtime = RuntimeSettings.from_env(bootstrap_var="CLIENT_CONSUMER_SERVERS", service_name=SERVICE)
    await run_until_signalled(Notifier(settings, runtime))


if __name__ == "__main__":
    main_entry(SERVICE, _main)
