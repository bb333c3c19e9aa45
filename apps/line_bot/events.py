"""Which LINE webhook events become reports, and how (https://developers.line.biz/en/reference/messaging-api/#webhook-event-objects).

Only text message events carry a report. Every other event (follow, join, images, stickers,
unknown future types, events the SDK cannot read) is acknowledged and ignored, because LINE
would otherwise redeliver something Siaga will never use.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from linebot.v3.webhooks import Event, GroupSource, MessageEvent, RoomSource, TextMessageContent, UserSource

from fogverse.contracts import MAX_TEXT_CHARS, Report

log = logging.getLogger(__name__)


class MalformedWebhook(ValueError):
    """The body is not a LINE webhook payload (not JSON, or no ``events`` list)."""


@dataclass(frozen=True)
class IncomingReport:
    """A text message event turned into a report, plus what answering it needs."""

    event_id: str  # webhookEventId: the same on every redelivery of one event
    report: Report
    reply_token: str | None  # None ▸ do not reply (standby mode, or LINE gave none)


@dataclass(frozen=True)
class WebhookEvents:
    """What one webhook body holds: its reports in order, and how many of its events carry none."""

    reports: list[IncomingReport]
    ignored: int


def incoming_reports(raw_body: bytes) -> WebhookEvents:
    """The reports in one webhook body, in order; raises :class:`MalformedWebhook`."""
    try:
        payload = json.loads(raw_body)
    except (ValueError, RecursionError) as exc:  # bad JSON, bad UTF-8, absurd nesting
        raise MalformedWebhook(f"body is not JSON: {type(exc).__name__}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("events"), list):
        raise MalformedWebhook("body has no 'events' list")
    destination = payload.get("destination")
    reports = []
    for raw_event in payload["events"]:
        incoming = _incoming_report(raw_event, destination if isinstance(destination, str) else None)
        if incoming is not None:
            reports.append(incoming)
    return WebhookEvents(reports, ignored=len(payload["events"]) - len(reports))


def _incoming_report(raw_event: object, destination: str | None) -> IncomingReport | None:
    if not isinstance(raw_event, dict):
        return None
    try:
        event = Event.from_dict(raw_event)
    except Exception as exc:  # unknown or broken event: the SDK raises KeyError, ValueError, TypeError...
        log.info("ignoring a webhook event the SDK cannot read (%s)", type(exc).__name__)
        return None
    if not isinstance(event, MessageEvent) or not isinstance(event.message, TextMessageContent):
        return None
    text, truncated = _fit(event.message.text or "")
    if not text.strip():
        return None
    channel_id, source_type = _channel(event.source)
    event_id = event.webhook_event_id or f"message-{event.message.id}"
    metadata = {
        "message_id": event.message.id,
        "webhook_event_id": event_id,
        "source_type": source_type,
        "mode": str(event.mode.value if hasattr(event.mode, "value") else event.mode),
        "redelivery": str(bool(event.delivery_context and event.delivery_context.is_redelivery)).lower(),
    }
    if destination:
        metadata["destination"] = destination
    if truncated:
        metadata["truncated"] = "true"
    try:
        report = Report(
            id=f"line-{event.message.id}", text=text, source="line",
            author_id=getattr(event.source, "user_id", None), channel_id=channel_id, metadata=metadata,
            created_at=event.timestamp / 1000.0,
            # a quoted message: the reply is about it (the notifier puts it in that report's incident)
            reply_to=f"line-{event.message.quoted_message_id}" if event.message.quoted_message_id else None,
        )
    except ValueError as exc:  # pydantic: an id or a value the contract cannot hold
        log.info("ignoring a text event that does not fit the Report contract (%s)", type(exc).__name__)
        return None
    standby = metadata["mode"] == "standby"  # another channel owns the chat: do not answer in it
    return IncomingReport(event_id=event_id, report=report,
                          reply_token=None if standby else event.reply_token)


def _fit(text: str) -> tuple[str, bool]:
    # LINE allows 5,000 characters, the contract 4,000: keep the start and say so.
    return (text[:MAX_TEXT_CHARS], True) if len(text) > MAX_TEXT_CHARS else (text, False)


def _channel(source) -> tuple[str | None, str]:
    if isinstance(source, GroupSource):
        return source.group_id, "group"
    if isinstance(source, RoomSource):
        return source.room_id, "room"
    if isinstance(source, UserSource):
        return source.user_id, "user"
    return None, "unknown"
