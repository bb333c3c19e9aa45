"""The notifier (the thesis's "client"): ``client`` topic ▸ incidents ▸ push alerts and the receiver.

- ``keywords``: the words of a report that say what it is about.
- ``places``: the place names in a report ("Jalan Sudirman", "Pasar Senen", "Elm Road").
- ``specificity``: how specific a word is (IDF over shipped reference corpora).
- ``grouping``: whether two reports are about one event (a pure decision).
- ``incidents``: groups linked reports into incidents, one per event; decides alerts.
- ``evaluation``: pairwise precision/recall of the grouping on sets of labelled reports.
- ``store``: SQLite under the state directory: incidents, reports seen, alerts to push, devices.
- ``devices``: the push tokens to alert, persisted across restarts.
- ``push``: one attempt at an alert with firebase-admin (FCM), off the event loop.
- ``outbox``: sends the alerts waiting in the store, each retrying on its own backoff.
- ``feed``: the live feed of incident changes (server-sent events) for the receiver.
- ``web``: the HTTP routes (aiohttp): the receiver page, its API and the feed.
- ``app``: wires the Kafka sink, the tracker, push and the web server into one process.
"""
