"""The HTTP side: ``POST /callback`` for LINE, ``GET /healthz`` for whoever runs the process.

Order matters in ``callback``: the signature is checked on the raw bytes before the body is
parsed at all, and the answer is 200 only once the broker has acked every report in it.
"""

from __future__ import annotations

import logging

from aiohttp import web

from apps.line_bot.broker_link import BrokerLink
from apps.line_bot.events import MalformedWebhook, incoming_reports
from apps.line_bot.ledger import ReportLedger
from apps.line_bot.replies import ReplySender
from apps.line_bot.signature import SIGNATURE_HEADER, signature_matches

log = logging.getLogger(__name__)

#: LINE sends small JSON bodies; anything bigger is refused by aiohttp (413) before it is read.
MAX_BODY_BYTES = 1024 * 1024


class LineWebhook:
    def __init__(self, *, channel_secret: str, link: BrokerLink, ledger: ReportLedger, replies: ReplySender,
                 publish_timeout_s: float):
        self._channel_secret = channel_secret
        self._link = link
        self._ledger = ledger
        self._replies = replies
        self._publish_timeout_s = publish_timeout_s

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY_BYTES)
        app.router.add_post("/callback", self.callback)
        app.router.add_get("/healthz", self.healthz)
        return app

    async def callback(self, request: web.Request) -> web.Response:
        if (request.headers.get("Content-Encoding", "").strip().lower() or "identity") != "identity":
            # aiohttp would inflate the body, and the signature is over the bytes LINE sent (never compressed)
            return web.json_response({"error": "compressed bodies are not accepted"}, status=415)
        try:
            raw = await request.read()
        except web.RequestPayloadError:  # truncated or badly chunked body
            return web.json_response({"error": "unreadable body"}, status=400)
        if not signature_matches(self._channel_secret, raw, request.headers.get(SIGNATURE_HEADER)):
            return web.json_response({"error": "missing or invalid X-Line-Signature"}, status=400)
        try:
            reports = incoming_reports(raw)
        except MalformedWebhook as exc:
            return web.json_response({"error": str(exc)}, status=400)

        deliveries = []
        for incoming in reports:
            delivery = self._ledger.deliver(incoming.event_id, incoming.report)
            if delivery.is_new and incoming.reply_token:
                self._replies.reply_when_published(delivery.task, incoming.reply_token)
            deliveries.append(delivery)
        if not await self._ledger.wait(deliveries, self._publish_timeout_s):
            # LINE redelivers on non-2xx; the ledger makes sure that does not duplicate what did land
            return web.json_response({"error": "the broker did not confirm in time; retry"}, status=503)
        return web.json_response({"published": len(deliveries)})

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "broker": "connected" if self._link.connected else "connecting"})
