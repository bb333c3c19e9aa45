"""The notifier (the thesis's "client"): ``client`` topic ▸ incidents ▸ push alerts and the receiver.

- ``keywords``: the words of a report that say what it is about.
- ``incidents``: merges reports of one kind, close in time and text, into incidents; decides alerts.
- ``store``: SQLite under the state directory: incidents, reports seen, alerts to push, devices.
- ``devices``: the push tokens to alert, persisted across restarts.
- ``push``: one attempt at an alert with firebase-admin (FCM), off the event loop.
- ``outbox``: sends the alerts waiting in the store, each retrying on its own backoff.
- ``feed``: the live feed of incident changes (server-sent events) for the receiver.
- ``web``: the HTTP routes (aiohttp): the receiver page, its API and the feed.
- ``app``: wires the Kafka sink, the tracker, push and the web server into one process.
"""
