"""The push tokens to alert: from ``DEVICE_TOKENS`` and from the receiver's registrations.

Registrations persist in the notifier's SQLite store, so a restart keeps them; tokens that FCM
reports as gone are removed. (A ``devices.json`` left by an older notifier is read once and
folded in.) Thread-safe: the web server adds, the push workers remove.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

from apps.notifier.store import NotifierStore

log = logging.getLogger(__name__)


class RegistryFull(Exception):
    """The registry holds ``max_devices`` tokens already."""


class ConfiguredToken(Exception):
    """The token is one of ``DEVICE_TOKENS``: the operator removes it there, not a browser."""


class DeviceRegistry:
    def __init__(self, store: NotifierStore, configured: tuple[str, ...] = (), max_devices: int = 10_000,
                 legacy_file: Path | None = None):
        self.store = store
        self.max_devices = max_devices
        self._lock = threading.Lock()
        if legacy_file is not None:
            self._import(legacy_file)
        self._registered: dict[str, None] = dict.fromkeys(store.device_tokens())  # insertion-ordered set
        self._configured: dict[str, None] = dict.fromkeys(configured)

    def tokens(self) -> list[str]:
        with self._lock:
            return list({**self._configured, **self._registered})

    def __len__(self) -> int:
        return len(self.tokens())

    def add(self, token: str) -> bool:
        """True if the token is new; raises :class:`RegistryFull` when there is no room."""
        with self._lock:
            if token in self._registered or token in self._configured:
                return False
            if len(self._registered) + len(self._configured) >= self.max_devices:
                raise RegistryFull(f"{self.max_devices} devices are registered already")
            self.store.add_device(token, time.time_ns())
            self._registered[token] = None
            return True

    def forget(self, token: str) -> bool:
        """A receiver unregistering: True if the token was registered; a configured token raises
        :class:`ConfiguredToken` and stays."""
        with self._lock:
            if token in self._configured:
                raise ConfiguredToken("this token is set by DEVICE_TOKENS; only the operator can remove it")
            if token not in self._registered:
                return False
            del self._registered[token]
            self.store.remove_devices([token])
            return True

    def remove(self, tokens: list[str]) -> int:
        """Forget tokens FCM reports gone (configured ones only until restart, as the environment still
        lists them)."""
        with self._lock:
            gone = [t for t in tokens if t in self._registered or t in self._configured]
            for token in gone:
                self._registered.pop(token, None)
                self._configured.pop(token, None)
            if gone:
                self.store.remove_devices(gone)
            return len(gone)

    def _import(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable device registry %s: %s", path, exc)
            return
        tokens = data.get("tokens") if isinstance(data, dict) else None
        for i, token in enumerate(tokens if isinstance(tokens, list) else []):
            if isinstance(token, str) and token:
                self.store.add_device(token, i)
        path.rename(path.with_suffix(".imported"))
        log.info("moved the device registrations of %s into the notifier's store", path)
