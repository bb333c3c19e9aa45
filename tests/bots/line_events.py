"""LINE webhook bodies shaped like the Messaging API reference, signed like LINE signs them."""

from __future__ import annotations

import json
import time
import uuid

from apps.line_bot.signature import sign

SECRET = "test-channel-secret"
ACCESS_TOKEN = "test-access-token"


def text_event(text: str, *, event_id: str | None = None, redelivery: bool = False, group: str = "Cgroup1",
               user: str = "Uuser1", reply_token: str | None = None, message_id: str | None = None,
               mode: str = "active", quoted: str | None = None) -> dict:
    """``quoted``: the id of the message this one quotes (a reply)."""
    message = {"id": message_id or str(uuid.uuid4().int)[:18], "type": "text", "quoteToken": "q", "text": text}
    if quoted is not None:
        message["quotedMessageId"] = quoted
    return {
        "type": "message", "mode": mode, "timestamp": int(time.time() * 1000),
        "source": {"type": "group", "groupId": group, "userId": user},
        "webhookEventId": event_id or uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": redelivery},
        "replyToken": reply_token or uuid.uuid4().hex,
        "message": message,
    }


def follow_event() -> dict:
    return {"type": "follow", "mode": "active", "timestamp": int(time.time() * 1000),
            "source": {"type": "user", "userId": "Ufollower"}, "webhookEventId": uuid.uuid4().hex[:26],
            "deliveryContext": {"isRedelivery": False}, "replyToken": uuid.uuid4().hex,
            "follow": {"isUnblocked": False}}


def image_event() -> dict:
    event = text_event("unused")
    event["message"] = {"id": "1234", "type": "image", "contentProvider": {"type": "line"}, "quoteToken": "q"}
    return event


def body(*events: dict) -> bytes:
    return json.dumps({"destination": "Ubot", "events": list(events)}).encode()


def signed(raw: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"X-Line-Signature": sign(secret, raw), "Content-Type": "application/json"}
