"""The notifier (the thesis's "client"): ``client`` topic ▸ incidents ▸ push alerts and the receiver.

- ``keywords``: the words of a report that say what it is about.
- ``incidents``: merges reports of one kind, close in time and text, into incidents; decides alerts.
- ``devices``: the push tokens to alert, persisted across restarts.
- ``push``: sends alerts with firebase-admin (FCM), off the event loop, with retries.
- ``feed``: the live feed of incident changes (server-sent events) for the receiver.
- ``web``: the HTTP routes (aiohttp): the receiver page, its API and the feed.
- ``app``: wires the Kafka sink, the tracker, push and the web server into one process.
"""
