"""Act: what changes the world. ``providers/`` create, list and delete instances (LOCAL,
GOOGLE_CLOUD, AWS); ``partitions.py`` grows topics through the Kafka admin API. The workflows call
them through the ``create_*`` / ``delete_*`` / ``list_*`` activities in ``activities/control.py``."""
