"""The HTTP side: ``POST /callback`` for LINE, ``GET /healthz`` for whoever runs the process.

Order matters in ``callback``: the signature is checked on the raw bytes before the body is
parsed at all, and the answer is 200 only once the broker has acked every report in it.
"""

from __future__ import annotations

import logging
from typing import Literal, get_args

from aiohttp import web

from fogverse.prometheus import ReceivedMessages

from apps.line_bot.broker_link import BrokerLink
from apps.line_bot.events import MalformedWebhook, incoming_reports
from apps.line_bot.ledger import ReportLedger
from apps.line_bot.replies import ReplySender
from apps.line_bot.signature import SIGNATURE_HEADER, signature_matches

log = logging.getLogger(__name__)

#: LINE sends small JSON bodies; anything bigger is refused by aiohttp (413) before it is read.
MAX_BODY_BYTES = 1024 * 1024

#: What became of each event of a webhook call, its ``outcome`` in ``siaga_messages_received_total``:
#: its report acked (``published``); a redelivery of one already published or being published, and
#: acked (``duplicate``); not acked in time (``not_confirmed``: the call got 503, LINE delivers it
#: again); no report in it (``ignored``: not a text message, or unreadable). A call refused before its
#: events are read (a bad signature, a body that is not a webhook) counts once, as ``refused``.
Outcome = Literal["published", "duplicate", "not_confirmed", "ignored", "refused"]
OUTCOMES: tuple[Outcome, ...] = get_args(Outcome)


class LineWebhook:
    def __init__(self, *, channel_secret: str, link: BrokerLink, ledger: ReportLedger, replies: ReplySender,
                 publish_timeout_s: float, received: ReceivedMessages):
        self._channel_secret = channel_secret
        self._received = received
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
            return self._refuse(415, "compressed bodies are not accepted")
        try:
            raw = await request.read()
        except web.RequestPayloadError:  # truncated or badly chunked body
            return self._refuse(400, "unreadable body")
        if not signature_matches(self._channel_secret, raw, request.headers.get(SIGNATURE_HEADER)):
            return self._refuse(400, "missing or invalid X-Line-Signature")
        try:
            events = incoming_reports(raw)
        except MalformedWebhook as exc:
            return self._refuse(400, str(exc))

        self._received.count("ignored", events.ignored)
        deliveries = []
        for incoming in events.reports:
            delivery = self._ledger.deliver(incoming.event_id, incoming.report)
            if delivery.is_new and incoming.reply_token:
                self._replies.reply_when_published(delivery.task, incoming.reply_token)
            deliveries.append(delivery)
        confirmed = await self._ledger.wait(deliveries, self._publish_timeout_s)
        for delivery in deliveries:
            self._received.count("not_confirmed" if not delivery.acked else
                                 "published" if delivery.is_new else "duplicate")
        if not confirmed:
            # LINE redelivers on non-2xx; the ledger makes sure that does not duplicate what did land
            return web.json_response({"error": "the broker did not confirm in time; retry"}, status=503)
        return web.json_response({"published": len(deliveries)})

    def _refuse(self, status: int, error: str) -> web.Response:
        self._received.count("refused")
        return web.json_response({"error": error}, status=status)

    async def healthz(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "broker": "connected" if self._link.connected else "connecting"})
