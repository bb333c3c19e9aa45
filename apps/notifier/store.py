"""The notifier's durable state: one SQLite file, ``<SIAGA_STATE_DIR>/notifier/notifier.db``.

- ``incidents``: each open incident's whole state (a JSON document), so a restart regroups nothing.
- ``reports``: the ids of the reports already folded in, so a re-delivered report counts once.
- ``alerts``: one row per alert level of an incident (1 when it opens, then each alert count):
  the primary key makes each level sent once; the row is also the push waiting to go out, with
  the tokens still to reach, its attempts and when it is next due.
- ``devices``: the push tokens the receiver registered.

A batch of analyses is recorded in one transaction (:meth:`NotifierStore.record`) before
``process`` returns, so the ``client`` offset is committed only after its reports, incidents
and pushes are on disk. WAL with ``synchronous=FULL``: a commit survives a SIGKILL and a power cut.
Thread-safe: the pipeline's worker thread records, the event loop's threads push and register.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Literal

AlertStatus = Literal["pending", "sent", "failed"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS incidents (id TEXT PRIMARY KEY, last_seen REAL NOT NULL, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS reports (id TEXT PRIMARY KEY, incident_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS reports_by_incident ON reports (incident_id);
CREATE TABLE IF NOT EXISTS alerts (
    incident_id TEXT NOT NULL, level INTEGER NOT NULL, created INTEGER NOT NULL, incident TEXT NOT NULL,
    tokens TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL,
    sent INTEGER NOT NULL DEFAULT 0, queued_at REAL NOT NULL, done_at REAL, last_error TEXT,
    place TEXT, summary TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (incident_id, level));
CREATE INDEX IF NOT EXISTS alerts_due ON alerts (status, next_at);
CREATE TABLE IF NOT EXISTS devices (token TEXT PRIMARY KEY, added INTEGER NOT NULL);
"""


@dataclass(frozen=True)
class QueuedAlert:
    """An alert to push: the incident as it was when the level was reached, and who still needs it."""

    incident_id: str
    level: int
    created: bool
    incident_json: str
    tokens: tuple[str, ...]
    attempts: int = 0
    next_at: float = 0.0
    # what the title named and the body said, kept by builds whose incidents had no title and summary of
    # their own (their alerts may still be queued); an alert queued since reads them from ``incident_json``
    place: str | None = None
    summary: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return self.incident_id, self.level


@dataclass(frozen=True)
class BatchRecord:
    """What one batch of analyses changed, written in one transaction."""

    reports: list[tuple[str, str]]  # (report id, incident id)
    incidents: list[tuple[str, float, dict]]  # (id, last_seen, state)
    forgotten: list[str]  # incidents dropped by retention or the memory bound
    alerts: list[QueuedAlert]
    merged: list[tuple[str, str]] = field(default_factory=list)  # (absorbed, survivor): one event after all


class NotifierStore:
    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # ─── incidents and reports ───────────────────────────────────────────────────────────

    def record(self, batch: BatchRecord) -> None:
        """Write a batch's changes; returns once they are durable. An alert level already
        recorded is left as it is (each level is pushed once)."""
        with self._lock, self._transaction():
            self._db.executemany("INSERT OR IGNORE INTO reports (id, incident_id) VALUES (?, ?)", batch.reports)
            self._db.executemany(
                "INSERT INTO incidents (id, last_seen, state) VALUES (?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET last_seen = excluded.last_seen, state = excluded.state",
                [(i, last_seen, json.dumps(state)) for i, last_seen, state in batch.incidents])
            for absorbed, survivor in batch.merged:
                self._db.execute("UPDATE reports SET incident_id = ? WHERE incident_id = ?", (survivor, absorbed))
                self._db.execute("DELETE FROM incidents WHERE id = ?", (absorbed,))
            for incident_id in batch.forgotten:
                self._db.execute("DELETE FROM incidents WHERE id = ?", (incident_id,))
                self._db.execute("DELETE FROM reports WHERE incident_id = ?", (incident_id,))
            self._db.executemany(
                "INSERT OR IGNORE INTO alerts (incident_id, level, created, incident, tokens, status, next_at,"
                " queued_at, place, summary) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?)",
                [(a.incident_id, a.level, int(a.created), a.incident_json, json.dumps(a.tokens), a.next_at,
                  a.next_at, a.place, a.summary) for a in batch.alerts])

    def incident_states(self) -> list[dict]:
        """Every incident's state, least recently seen first."""
        with self._lock:
            rows = self._db.execute("SELECT state FROM incidents ORDER BY last_seen").fetchall()
        return [json.loads(state) for (state,) in rows]

    def report_ids(self, limit: int) -> list[str]:
        with self._lock:
            rows = self._db.execute("SELECT id FROM reports ORDER BY rowid DESC LIMIT ?", (limit,)).fetchall()
        return [report_id for (report_id,) in reversed(rows)]

    # ─── alerts ──────────────────────────────────────────────────────────────────────────

    def due_alerts(self, now: float, sending: Iterable[str], limit: int) -> list[QueuedAlert]:
        """Pending alerts due by ``now``, oldest due first: per incident only its lowest pending
        level (an incident's alerts go out in order, one at a time), none of the incidents ``sending``."""
        busy = set(sending)
        with self._lock:
            rows = self._db.execute(
                "SELECT incident_id, level, created, incident, tokens, attempts, next_at, place, summary FROM alerts AS a "
                "WHERE status = 'pending' AND next_at <= ? AND level = (SELECT MIN(level) FROM alerts AS b "
                "  WHERE b.incident_id = a.incident_id AND b.status = 'pending') "
                "ORDER BY next_at, queued_at LIMIT ?", (now, limit + len(busy))).fetchall()
        alerts = [QueuedAlert(i, level, bool(created), incident, tuple(json.loads(tokens)), attempts, next_at, place,
                              summary) for i, level, created, incident, tokens, attempts, next_at, place, summary in rows]
        return [a for a in alerts if a.incident_id not in busy][:limit]

    def next_due(self) -> float | None:
        with self._lock:
            (at,) = self._db.execute("SELECT MIN(next_at) FROM alerts WHERE status = 'pending'").fetchone()
        return at

    def alert_attempted(self, key: tuple[str, int], status: AlertStatus, tokens_left: tuple[str, ...],
                        sent: int, next_at: float, at: float, error: str | None) -> None:
        with self._lock, self._transaction():
            self._db.execute(
                "UPDATE alerts SET status = ?, tokens = ?, attempts = attempts + 1, sent = sent + ?, next_at = ?,"
                " done_at = CASE WHEN ? = 'pending' THEN NULL ELSE ? END, last_error = ? "
                "WHERE incident_id = ? AND level = ?",
                (status, json.dumps(tokens_left), sent, next_at, status, at, error, *key))

    def alert_statuses(self) -> list[tuple[str, int, AlertStatus, int, int]]:
        """(incident id, level, status, attempts, tokens reached) of every alert, in the order queued."""
        with self._lock:
            return self._db.execute(
                "SELECT incident_id, level, status, attempts, sent FROM alerts ORDER BY queued_at, rowid").fetchall()

    def pending_alerts(self) -> int:
        with self._lock:
            (n,) = self._db.execute("SELECT COUNT(*) FROM alerts WHERE status = 'pending'").fetchone()
        return n

    # ─── devices ─────────────────────────────────────────────────────────────────────────

    def device_tokens(self) -> list[str]:
        with self._lock:
            return [t for (t,) in self._db.execute("SELECT token FROM devices ORDER BY added, rowid")]

    def add_device(self, token: str, added: int) -> None:
        with self._lock, self._transaction():
            self._db.execute("INSERT OR IGNORE INTO devices (token, added) VALUES (?, ?)", (token, added))

    def remove_devices(self, tokens: list[str]) -> None:
        with self._lock, self._transaction():
            self._db.executemany("DELETE FROM devices WHERE token = ?", [(t,) for t in tokens])

    def _transaction(self):
        return _Transaction(self._db)


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT, or ROLLBACK on an error (the connection is in autocommit mode)."""

    def __init__(self, db: sqlite3.Connection):
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, error, traceback) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")
