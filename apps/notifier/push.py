"""Push alerts to phones and browsers with firebase-admin (Firebase Cloud Messaging).

One alert goes to every registered token as multicasts of at most 500 tokens (FCM's limit per
call). Per token: UNREGISTERED, an invalid token or a sender mismatch removes it from the
registry; 429 and 5xx answers come back as tokens to retry, which the outbox
(:mod:`apps.notifier.outbox`) retries later, with backoff. firebase-admin is synchronous, so each
call runs on a thread: sending never blocks the event loop. (firebase-admin itself already
retries 500/503 a few times inside each call.)
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import firebase_admin
from firebase_admin import credentials, exceptions, messaging

from fogverse.contracts import Incident
from fogverse.settings import ConfigError
from apps.notifier.settings import NotifierSettings

from apps.notifier.devices import DeviceRegistry
from apps.notifier.incidents import incident_title

log = logging.getLogger(__name__)

MULTICAST_MAX = 500  # tokens per FCM multicast call
FCM_ORIGIN = "https://fcm.googleapis.com"


def firebase_app(settings: NotifierSettings) -> firebase_admin.App | None:
    """The Firebase app for ``FIREBASE_KEY`` (a key file's path or its JSON); None when unset."""
    if not settings.firebase_key:
        return None
    key = settings.firebase_key.get_secret_value()
    try:
        certificate = json.loads(key) if key.lstrip().startswith("{") else str(Path(key).expanduser())
        credential = credentials.Certificate(certificate)
    except (OSError, ValueError) as exc:
        # The message names the variable and the kind of problem, never the key itself.
        raise ConfigError(f"FIREBASE_KEY is not a usable service-account key ({type(exc).__name__})") from None
    app = firebase_admin.initialize_app(credential, name=f"siaga-notifier-{uuid.uuid4().hex[:8]}")
    if settings.fcm_endpoint:
        _send_to(app, settings.fcm_endpoint.rstrip("/"))
    return app


def _send_to(app: firebase_admin.App, origin: str) -> None:
    """Point firebase-admin's FCM v1 calls at ``origin`` instead of Google (a proxy, a stand-in)."""
    service = messaging._get_messaging_service(app)
    if not hasattr(service, "_fcm_url"):
        raise ConfigError("FCM_ENDPOINT is not supported by this firebase-admin version")
    service._fcm_url = service._fcm_url.replace(FCM_ORIGIN, origin, 1)


@dataclass
class AttemptResult:
    """What one attempt of one alert did, per token."""

    sent: list[str] = field(default_factory=list)
    gone: list[str] = field(default_factory=list)  # FCM says the token is dead: forget it
    retry: list[str] = field(default_factory=list)  # throttled or unavailable: try again later
    failed: list[str] = field(default_factory=list)  # a permanent error for this token
    retry_after_s: float | None = None  # the longest Retry-After FCM asked for
    error: str | None = None  # why, when some tokens are to be retried or failed


class FcmPush:
    """One attempt at a time: :class:`apps.notifier.outbox.AlertOutbox` decides what comes next."""

    def __init__(self, app: firebase_admin.App, devices: DeviceRegistry):
        self.app = app
        self.devices = devices

    async def close(self) -> None:
        # delete_app closes firebase-admin's async client with asyncio.run: not on this loop.
        await asyncio.to_thread(firebase_admin.delete_app, self.app)

    async def attempt(self, incident: Incident, created: bool, tokens: list[str], place: str | None = None,
                      summary: str = "") -> AttemptResult:
        """Send once to ``tokens`` (in multicasts of at most 500); forget the tokens FCM says are gone."""
        result = AttemptResult()
        title, body = alert_text(incident, created, place, summary)
        for start in range(0, len(tokens), MULTICAST_MAX):
            message = alert_message(incident, created, tokens[start:start + MULTICAST_MAX], title, body)
            await self._attempt_batch(message, tokens[start:start + MULTICAST_MAX], result)
        if result.gone:
            await asyncio.to_thread(self.devices.remove, result.gone)
        return result

    async def _attempt_batch(self, message: messaging.MulticastMessage, tokens: list[str],
                             result: AttemptResult) -> None:
        try:
            response = await asyncio.to_thread(messaging.send_each_for_multicast, message, False, self.app)
        except exceptions.FirebaseError as exc:  # the whole call failed, e.g. the OAuth token fetch
            result.retry.extend(tokens)
            result.error = f"push call failed: {exc}"
            return
        for token, answer in zip(tokens, response.responses):
            if answer.success:
                result.sent.append(token)
            elif _token_is_gone(answer.exception):
                result.gone.append(token)
            elif _is_retryable(answer.exception):
                result.retry.append(token)
                result.error = str(answer.exception)
                retry_after = _retry_after_s(answer.exception)
                if retry_after is not None:
                    result.retry_after_s = max(result.retry_after_s or 0.0, retry_after)
            else:
                result.failed.append(token)
                result.error = str(answer.exception)
                log.warning("push to a device failed: %s", answer.exception)


def alert_message(incident: Incident, created: bool, tokens: list[str], title: str,
                  body: str) -> messaging.MulticastMessage:
    with warnings.catch_warnings():
        # firebase-admin 7.7 steers towards installation ids, but browsers and the seeds'
        # DEVICE_TOKENS carry registration tokens, which FCM v1 still accepts.
        warnings.simplefilter("ignore", DeprecationWarning)
        return _multicast(tokens, title, body, incident, created)


def _multicast(tokens: list[str], title: str, body: str, incident: Incident, created: bool):
    return messaging.MulticastMessage(
        tokens=tokens,
        notification=messaging.Notification(title=title, body=body),
        data={"incident_id": incident.id, "category": incident.category, "count": str(incident.count),
              "kind": "created" if created else "updated"},
        android=messaging.AndroidConfig(priority="high", collapse_key=incident.id),
        webpush=messaging.WebpushConfig(headers={"Urgency": "high", "Topic": incident.id[:32]}),
    )


def alert_text(incident: Incident, created: bool, place: str | None = None, summary: str = "") -> tuple[str, str]:
    """Title and body of an alert: "Fire at Jalan Sudirman: new incident" (the incident's title) and
    its most representative report (else its latest). ``place`` and ``summary``: what an alert queued
    by a build whose incidents had no title and summary of their own kept beside it."""
    what = incident.title or incident_title(incident.category, place)
    title = f"{what}: new incident" if created else f"{what}: {incident.count} reports"
    body = summary or incident.summary or (incident.samples[0].text if incident.samples else "")
    return title, body[:160]


def _token_is_gone(error: Exception | None) -> bool:
    if isinstance(error, (messaging.UnregisteredError, messaging.SenderIdMismatchError)):
        return True
    # INVALID_ARGUMENT also covers a malformed message: only a complaint about the token removes it.
    return isinstance(error, exceptions.InvalidArgumentError) and "token" in str(error).lower()


def _is_retryable(error: Exception | None) -> bool:
    if isinstance(error, (messaging.QuotaExceededError, exceptions.ResourceExhaustedError,
                          exceptions.UnavailableError, exceptions.InternalError,
                          exceptions.DeadlineExceededError)):
        return True
    status = _status(error)
    return status is not None and (status == 429 or status >= 500)


def _status(error: Exception | None) -> int | None:
    response = getattr(error, "http_response", None)
    return getattr(response, "status_code", None)


def _retry_after_s(error: Exception | None) -> float | None:
    response = getattr(error, "http_response", None)
    value = response.headers.get("Retry-After") if response is not None else None
    try:
        return float(value) if value else None
    except ValueError:  # an HTTP date: fall back to our own backoff
        return None
