"""The control plane's activities: everything that touches the world (observer topic, Kafka admin,
providers). ``control.py`` exposes them to Temporal; ``workflows/`` decides when to call them."""
