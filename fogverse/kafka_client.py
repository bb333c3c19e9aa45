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
