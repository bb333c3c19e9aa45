"""Measure: what the controller reads. The observer feed (``observer.py``) records the apps'
reports into the ledger (``throughput.py``, on the controller's clock); ``lag.py`` reads consumer
lag and partitions from the broker. The ``measure_*`` activities in ``activities/control.py`` turn
them into one ``Measurement`` per service."""
