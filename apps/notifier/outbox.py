"""The alerts waiting to be pushed, taken from the store and sent, each on its own schedule.

Every alert (an incident's level) is a row of the store: recorded with the batch that reached
it, so it survives a crash; it is sent to the tokens registered at that moment. Up to
``PUSH_CONCURRENCY`` alerts are being sent at once; an alert whose tokens are throttled or whose
call failed is due again after its own backoff (:func:`next_attempt`), so one slow or failing
alert never holds back those of other incidents. One incident's alerts go out in order, one at a time. A restart picks up every pending alert where it stood.

The phone sees an alert at least once: a SIGKILL between FCM accepting a message and the store
marking it sent means it is sent again after the restart (FCM's collapse key, the incident id,
makes the phone replace the first copy rather than show two).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Mapping

from apps.notifier.push import AttemptResult, FcmPush
from apps.notifier.store import AlertStatus, NotifierStore, QueuedAlert
from fogverse import prometheus
from fogverse.contracts import Incident
from fogverse.settings import Settings, env, environment
from apps.notifier.settings import NotifierSettings

log = logging.getLogger(__name__)

RETRY_AFTER_MAX_S = 300.0  # a Retry-After longer than this is not believed
IDLE_POLL_S = 1.0  # how often an idle outbox looks for due alerts it was not woken for


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    backoff_s: float = 1.0
    backoff_max_s: float = 60.0

    def delay(self, attempt: int, retry_after_s: float | None) -> float:
        backoff = min(self.backoff_max_s, self.backoff_s * (2 ** attempt))
        return max(backoff, min(retry_after_s or 0.0, RETRY_AFTER_MAX_S))


class OutboxSettings(Settings):
    """The outbox's own settings, beside it; the retry ones are the notifier's ``PUSH_*``."""

    concurrency: int = env("PUSH_CONCURRENCY", default=8, ge=1, le=256,
                           meaning="alerts being sent at once (each retries on its own)")
    retry: RetryPolicy = RetryPolicy()  # from the notifier's settings, not its own variables

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None,
                 notifier: NotifierSettings | None = None) -> "OutboxSettings":
        environ = environment(environ)
        notifier = notifier or NotifierSettings.from_env(environ)
        return super().from_env(environ, retry=RetryPolicy(notifier.push_max_retries, notifier.push_backoff_s,
                                                           notifier.push_backoff_max_s))


@dataclass(frozen=True)
class NextAttempt:
    """What becomes of an alert after an attempt."""

    status: AlertStatus
    tokens: tuple[str, ...]  # still to reach (empty unless pending)
    next_at: float


def next_attempt(attempts_before: int, result: AttemptResult, policy: RetryPolicy, now: float) -> NextAttempt:
    """After attempt number ``attempts_before + 1``: done, given up, or due again after its backoff."""
    if not result.retry:
        return NextAttempt("failed" if result.failed and not result.sent else "sent", (), now)
    if attempts_before >= policy.max_retries:
        return NextAttempt("failed", (), now)
    return NextAttempt("pending", tuple(result.retry), now + policy.delay(attempts_before, result.retry_after_s))


class AlertOutbox:
    def __init__(self, store: NotifierStore, push: FcmPush, settings: OutboxSettings):
        self.store = store
        self.push = push
        self.settings = settings
        self._wake = asyncio.Event()
        self._sending: dict[str, asyncio.Task] = {}  # incident id ▸ the send of its next alert

    def wake(self) -> None:
        """New alerts are in the store (call on the event loop)."""
        self._wake.set()

    @property
    def sending(self) -> int:
        return len(self._sending)

    async def run(self) -> None:
        try:
            while True:
                self._wake.clear()
                room = self.settings.concurrency - len(self._sending)
                if room > 0:
                    due = await asyncio.to_thread(self.store.due_alerts, time.time(), list(self._sending), room)
                    for alert in due:
                        self._sending[alert.incident_id] = asyncio.create_task(
                            self._send(alert), name=f"push-{alert.incident_id}-{alert.level}")
                await self._sleep()
        finally:
            tasks = list(self._sending.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def idle(self, timeout_s: float) -> bool:
        """Wait until nothing is pending or being sent; False if ``timeout_s`` passed first."""
        deadline = time.monotonic() + timeout_s
        while self._sending or await asyncio.to_thread(self._due_soon):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    def _due_soon(self) -> bool:
        next_due = self.store.next_due()
        return next_due is not None and next_due <= time.time() + 0.5

    async def _sleep(self) -> None:
        next_due = await asyncio.to_thread(self.store.next_due)
        wait = IDLE_POLL_S if next_due is None else min(IDLE_POLL_S, max(0.0, next_due - time.time()))
        if len(self._sending) >= self.settings.concurrency:
            wait = IDLE_POLL_S  # full: a finishing send wakes us
        # not asyncio.wait_for: on Python 3.11 it swallows a cancellation that arrives as the event
        # is set (a send finishing), and the outbox would never stop
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({woken}, timeout=wait)
        finally:
            woken.cancel()

    async def _send(self, alert: QueuedAlert) -> None:
        try:
            incident = Incident.model_validate_json(alert.incident_json)
            try:
                result = await self.push.attempt(incident, alert.created, list(alert.tokens), alert.place,
                                                 alert.summary)
            except Exception as exc:  # one broken alert must not stop the others
                log.exception("could not push the alert for incident %s", alert.incident_id)
                result = AttemptResult(retry=list(alert.tokens), error=f"{type(exc).__name__}: {exc}")
            _count_pushes(result)
            step = next_attempt(alert.attempts, result, self.settings.retry, time.time())
            await asyncio.to_thread(self.store.alert_attempted, alert.key, step.status, step.tokens,
                                    len(result.sent), step.next_at, time.time(), result.error)
            self._log(alert, incident, result, step)
        finally:
            self._sending.pop(alert.incident_id, None)
            self._wake.set()

    @staticmethod
    def _log(alert: QueuedAlert, incident: Incident, result: AttemptResult, step: NextAttempt) -> None:
        what = (f"alert for incident {alert.incident_id} ({incident.category}, level {alert.level}), "
                f"attempt {alert.attempts + 1}: {len(result.sent)} sent, {len(result.gone)} removed, "
                f"{len(result.failed)} failed, {len(result.retry)} to retry")
        if step.status == "pending":
            log.info("%s; again in %.1f s (%s)", what, step.next_at - time.time(), result.error)
        elif step.status == "failed" and result.retry:
            log.warning("%s; gave up after %d attempts (%s)", what, alert.attempts + 1, result.error)
        else:
            log.info("%s", what)


def _count_pushes(result: AttemptResult) -> None:
    """One push per token of an attempt, in the Prometheus metrics (README ▸ Metrics)."""
    prometheus.PUSHES_SENT.inc(len(result.sent))
    for reason, tokens in (("retry", result.retry), ("unregistered", result.gone), ("rejected", result.failed)):
        prometheus.PUSHES_FAILED.labels(reason).inc(len(tokens))
