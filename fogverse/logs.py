"""The one logging setup every Siaga process uses."""

from __future__ import annotations

import logging
import os

#: aiokafka logs each failed attempt (about ten a second per client while a broker is away)
REPEAT_INTERVAL_S = 60.0


class OncePerInterval(logging.Filter):
    """Lets one record of each kind (logger and message template) from ``prefix`` through per interval.

    While the broker is away, :class:`fogverse.broker_watch.BrokerWatch` says so in one line;
    aiokafka's own lines would otherwise bury it under hundreds a minute.
    """

    def __init__(self, prefix: str = "aiokafka", interval_s: float = REPEAT_INTERVAL_S):
        super().__init__()
        self._prefix = prefix
        self._interval_s = interval_s
        self._last: dict[tuple[str, str], float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(self._prefix):
            return True
        kind = (record.name, str(record.msg))
        last = self._last.get(kind)
        if last is not None and record.created - last < self._interval_s:
            return False
        self._last[kind] = record.created
        return True


def configure_logging(name: str | None = None) -> logging.Logger:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiokafka logs every transient connection error at ERROR; warnings are enough here.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))
    for handler in logging.getLogger().handlers:
        handler.addFilter(OncePerInterval())
    return logging.getLogger(name or "siaga")
