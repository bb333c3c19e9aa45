"""How every Kafka client in Siaga connects: one set of security settings for all of them.

Apps, bots, the controller's activities, the lag reader, the admin calls and the probe all build
their aiokafka clients with :func:`client_options`, so pointing Siaga at a broker that needs
TLS or SASL is one set of environment variables (:class:`fogverse.settings.KafkaSecurity`).
"""

from __future__ import annotations

from typing import Any

from fogverse.settings import KafkaSecurity


def client_options(security: KafkaSecurity | None = None) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer`` / ``AIOKafkaConsumer`` / ``AIOKafkaAdminClient``."""
    security = security or KafkaSecurity.from_env()
    return security.aiokafka_options()


class BrokerUnreachable(ConnectionError):
    """No broker answered at the bootstrap address (down, restarting, or not there yet)."""


async def preflight(bootstrap: str, security: KafkaSecurity | None = None, timeout_s: float = 5.0) -> None:
    """Check, before a client starts, that a broker answers at ``bootstrap`` with these settings.

    Raises :class:`BrokerUnreachable` when nothing answers (callers wait and retry), and
    :class:`fogverse.settings.ConfigError` naming the setting when the broker answers but refuses
    us (a wrong password, an untrusted certificate): retrying cannot fix that.
    """
    import asyncio

    errors = []
    for server in bootstrap.split(","):
        host, _, port = server.strip().rpartition(":")
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), timeout_s)
            writer.close()
            return
        except (OSError, asyncio.TimeoutError, ValueError) as exc:
            errors.append(f"{server.strip()}: {exc.__class__.__name__}: {exc}")
    raise BrokerUnreachable(f"no Kafka broker answered at {bootstrap} ({'; '.join(errors)})")
