"""The control plane's activities: everything that touches the world. ``measure/`` reads it
(observer topic, consumer lag), ``act/`` changes it (providers, Kafka admin); ``control.py``
exposes both to Temporal, and ``relay.py`` turns what the feed hears into signals. ``workflows/``
decides when to call them."""
