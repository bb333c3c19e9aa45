"""The LINE bot process: settings ▸ broker link, ledger, replies ▸ webhook server, until signalled."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from fogverse import prometheus
from fogverse.codec import JsonModelCodec
from fogverse.contracts import Report
from fogverse.publisher import Publisher
from apps.line_bot.settings import LineSettings
from fogverse.settings import RuntimeSettings

from apps.line_bot.broker_link import BrokerLink
from apps.line_bot.ledger import ReportLedger
from apps.line_bot.replies import ReplySender
from apps.line_bot.webhook import OUTCOMES, LineWebhook

log = logging.getLogger(__name__)

SERVICE = "line_bot"
DRAIN_TIMEOUT_S = 10.0


class LineBot:
    def __init__(self, settings: LineSettings, runtime: RuntimeSettings):
        self.settings = settings
        self.runtime = runtime
        self.received = prometheus.ReceivedMessages(runtime.service_name or SERVICE, OUTCOMES)
        self._stop = asyncio.Event()
        self.bound_port: int | None = None

    @classmethod
    def from_env(cls) -> "LineBot":
        settings = LineSettings.from_env()
        runtime = RuntimeSettings.from_env(bootstrap_var="BOOTSTRAP_SERVERS", service_name=SERVICE)
        runtime = runtime.model_copy(update={"bootstrap_servers": settings.bootstrap_servers,
                                             "instance_id": settings.client_id or runtime.instance_id})
        return cls(settings, runtime)

    def request_stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        link = BrokerLink(lambda: Publisher(service=self.runtime.service_name or SERVICE,
                                            topic=self.settings.producer_topic,
                                            codec=JsonModelCodec(Report), settings=self.runtime))
        ledger = ReportLedger(link, self.settings.dedup_size)
        replies = ReplySender(self.settings.api_host, self.settings.channel_access_token.get_secret_value())
        webhook = LineWebhook(channel_secret=self.settings.channel_secret.get_secret_value(), link=link, ledger=ledger,
                              replies=replies, publish_timeout_s=self.settings.publish_timeout_s,
                              received=self.received)
        link.start()
        await replies.start()
        runner = web.AppRunner(webhook.application(), access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.settings.host, self.settings.port)
            await site.start()
            self.bound_port = runner.addresses[0][1]
            log.info("LINE webhook listening on %s:%d/callback, publishing to %s",
                     self.settings.host, self.bound_port, self.settings.producer_topic)
            await self._stop.wait()
        finally:
            await runner.cleanup()  # stop taking requests first
            await ledger.drain(DRAIN_TIMEOUT_S)
            await replies.stop()
            await link.stop(DRAIN_TIMEOUT_S)  # what is still unacked here was answered 503
