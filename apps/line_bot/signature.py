"""Is a webhook call really from LINE? ``X-Line-Signature`` is base64(HMAC-SHA256(secret, body))."""

from __future__ import annotations

import base64
import hashlib
import hmac

SIGNATURE_HEADER = "X-Line-Signature"


def signature_matches(channel_secret: str, raw_body: bytes, signature: str | None) -> bool:
    # Computed over the raw bytes (the SDK's validator takes decoded text), compared in constant time.
    if not signature:
        return False
    expected = base64.b64encode(hmac.new(channel_secret.encode(), raw_body, hashlib.sha256).digest())
    return hmac.compare_digest(expected, signature.encode("utf-8", "replace"))


def sign(channel_secret: str, raw_body: bytes) -> str:
    """The header value LINE would send for ``raw_body`` (tests and local tools)."""
    return base64.b64encode(hmac.new(channel_secret.encode(), raw_body, hashlib.sha256).digest()).decode()
