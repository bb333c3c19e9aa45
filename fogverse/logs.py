"""The one logging setup every Siaga process uses.

``LOG_LEVEL`` (DEBUG, INFO, WARNING, ERROR, CRITICAL) and ``LOG_FORMAT``: ``text``, one readable
line per record, or ``json``, one JSON object per line with ``time`` (ISO 8601, UTC), ``level``,
``logger``, ``message``, the extras a call passed (``log.info(..., extra={"service": ...})``) and,
for an exception, ``exception`` (its traceback as one string), for a log shipper to parse.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone

from fogverse.settings import LogSettings

#: aiokafka logs each failed attempt (about ten a second per client while a broker is away)
REPEAT_INTERVAL_S = 60.0

#: what every LogRecord has; anything else on a record came from ``extra=``
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


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


class JsonFormatter(logging.Formatter):
    """One JSON object per record and line: time, level, logger, message, then the extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(name: str | None = None, settings: LogSettings | None = None) -> logging.Logger:
    """Set up the root logger once, from ``LOG_LEVEL`` and ``LOG_FORMAT`` (a bad value raises
    :class:`fogverse.settings.ConfigError` naming the variable)."""
    settings = settings or LogSettings.from_env()
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if settings.format == "json"
                         else logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(OncePerInterval())
    logging.basicConfig(level=getattr(logging, settings.level), handlers=[handler])
    # aiokafka logs every transient connection error at ERROR; warnings are enough here.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))
    return logging.getLogger(name or "siaga")
