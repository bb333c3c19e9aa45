"""The push tokens to alert: from ``DEVICE_TOKENS`` and from the receiver's registrations.

Registrations persist in a small JSON file, so a restart keeps them; tokens that FCM reports as
gone are removed from it. Thread-safe: the web server adds, the push thread removes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)


class RegistryFull(Exception):
    """The registry holds ``max_devices`` tokens already."""


class DeviceRegistry:
    def __init__(self, path: Path, configured: tuple[str, ...] = (), max_devices: int = 10_000):
        self.path = path
        self.max_devices = max_devices
        self._lock = threading.Lock()
        self._registered: dict[str, None] = dict.fromkeys(self._load())  # insertion-ordered set
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
            self._registered[token] = None
            self._save()
            return True

    def remove(self, tokens: list[str]) -> int:
        """Forget tokens (configured ones only until restart, as the environment still lists them)."""
        with self._lock:
            gone = [t for t in tokens if t in self._registered or t in self._configured]
            for token in gone:
                self._registered.pop(token, None)
                self._configured.pop(token, None)
            if gone:
                self._save()
            return len(gone)

    def _load(self) -> list[str]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("ignoring unreadable device registry %s: %s", self.path, exc)
            return []
        tokens = data.get("tokens") if isinstance(data, dict) else None
        return [t for t in tokens if isinstance(t, str) and t] if isinstance(tokens, list) else []

    def _save(self) -> None:
        # Write then rename, so a crash mid-write leaves the previous file intact.
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"tokens": list(self._registered)}))
        os.replace(temporary, self.path)
