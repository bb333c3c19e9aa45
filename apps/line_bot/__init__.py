"""Siaga's LINE bot (the thesis's ``moke``): a webhook that turns LINE text messages into reports.

``python -m apps.line_bot`` serves ``POST /callback`` (and ``GET /healthz``) on ``PORT``.

- ``signature``: is the request really from LINE (HMAC of the raw body)?
- ``events``: which webhook events become a :class:`fogverse.contracts.Report`, and how.
- ``broker_link``: one producer, connected in the background so the webhook starts without Kafka.
- ``ledger``: publishes each webhook event once and bounds how long a request waits for the ack.
- ``replies``: tells the sender "report received" through the Messaging API.
- ``webhook``: the aiohttp routes that tie these together; ``bot``: the process.
"""
