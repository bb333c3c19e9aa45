"""The one logging setup every Siaga process uses."""

from __future__ import annotations

import logging
import os


def configure_logging(name: str | None = None) -> logging.Logger:
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # aiokafka logs every transient connection error at ERROR; warnings are enough here.
    logging.getLogger("aiokafka").setLevel(max(logging.WARNING, logging.getLogger().level))
    return logging.getLogger(name or "siaga")
