"""The Discord bot process: publisher and incident reader first, then the gateway, until signalled."""

from __future__ import annotations

import asyncio
import logging

import discord
from aiokafka.errors import KafkaError

from fogverse import prometheus
from fogverse.codec import JsonModelCodec
from fogverse.contracts import Report
from fogverse.publisher import Publisher
from fogverse.settings import ConfigError, RuntimeSettings
from apps.discord_bot.settings import DiscordSettings

from apps.discord_bot.handler import MessageHandler, Outcome
from apps.discord_bot.incidents import IncidentIndex, IncidentReader
from apps.discord_bot.limits import AuthorRateLimit

log = logging.getLogger(__name__)

SERVICE = "discord_bot"

INTENT_HELP = ("Discord refused the Message Content intent for this bot: turn on "
               "Developer Portal ▸ your application ▸ Bot ▸ Privileged Gateway Intents ▸ MESSAGE CONTENT INTENT")


class CannotStart(RuntimeError):
    """Something outside the settings stops the bot from starting (the message says what to do)."""


def intents() -> discord.Intents:
    wanted = discord.Intents.default()
    wanted.message_content = True  # privileged: without it every message arrives with empty text
    return wanted


class DiscordBot:
    def __init__(self, settings: DiscordSettings, runtime: RuntimeSettings):
        self.settings = settings
        self.runtime = runtime
        self.client = discord.Client(intents=intents())
        self.incidents = IncidentIndex()
        self.received = prometheus.ReceivedMessages(runtime.service_name or SERVICE, [o.value for o in Outcome])
        self._stopping = False
        self._close_task: asyncio.Task | None = None

    @classmethod
    def from_env(cls) -> "DiscordBot":
        settings = DiscordSettings.from_env()
        runtime = RuntimeSettings.from_env(bootstrap_var="DISCORD_ANALYZER_SERVERS", service_name=SERVICE)
        return cls(settings, runtime.model_copy(update={"bootstrap_servers": settings.bootstrap_servers}))

    def request_stop(self) -> None:
        self._stopping = True
        if not self.client.is_closed():
            self._close_task = asyncio.get_running_loop().create_task(self.client.close())

    async def run(self) -> None:
        # no waiting for the broker at start: the bot stops instead (CannotStart, below)
        publisher = Publisher(service=self.runtime.service_name or SERVICE, topic=self.settings.producer_topic,
                              codec=JsonModelCodec(Report), settings=self.runtime, wait_for_broker=False)
        reader = IncidentReader(bootstrap_servers=self.settings.bootstrap_servers,
                                topic=self.settings.incidents_topic, index=self.incidents,
                                lookback=self.settings.incidents_lookback,
                                client_id=f"{self.settings.consumer_group_id}-incidents-{self.runtime.instance_id}")
        try:
            await publisher.start()
            await reader.start()
        except (KafkaError, OSError) as exc:
            await _quietly(reader.stop(), publisher.producer.stop())
            # Discord does not redeliver what a bot missed: better not to read messages it cannot pass on
            raise CannotStart(f"the broker at {self.settings.bootstrap_servers} is unreachable "
                              f"({type(exc).__name__})") from None
        handler = MessageHandler(publisher=publisher, incidents=self.incidents,
                                 channel_ids=frozenset(int(c) for c in self.settings.channels),
                                 incidents_shown=self.settings.incidents_shown,
                                 publish_timeout_s=self.settings.publish_timeout_s,
                                 read_dms=self.settings.read_dms,
                                 author_limit=AuthorRateLimit(self.settings.author_rate))
        self._listen(handler)
        try:
            if not self._stopping:
                async with self.client:
                    await self.client.start(self.settings.token.get_secret_value())
        except discord.LoginFailure:
            raise ConfigError("TOKEN was rejected by Discord: use the token from Developer Portal ▸ Bot") from None
        except discord.PrivilegedIntentsRequired:
            raise CannotStart(INTENT_HELP) from None
        finally:
            await stop_within(self.settings.publish_timeout_s, "incident reader", reader.stop())
            await stop_within(self.settings.publish_timeout_s, "publisher", publisher.stop())

    def _listen(self, handler: MessageHandler) -> None:
        client = self.client

        @client.event
        async def on_ready() -> None:
            watching = ", ".join(self.settings.channels) or "every channel it can see"
            watching += " and direct messages" if self.settings.read_dms else " (no direct messages)"
            log.info("logged in to Discord as %s (id %s); watching %s; publishing to %s",
                     client.user, client.user.id if client.user else "?", watching, self.settings.producer_topic)

        @client.event
        async def on_message(message: discord.Message) -> None:
            outcome = await handler.handle(message, client.user)
            self.received.count(outcome.value)
            log.debug("message %s: %s", message.id, outcome.value)


async def stop_within(timeout_s: float, what: str, stopping) -> None:
    """Stop, but not forever: with the broker gone, a flush or a fetch waits on it for good."""
    try:
        async with asyncio.timeout(timeout_s):
            await stopping
    except (asyncio.TimeoutError, KafkaError, OSError) as exc:
        log.warning("the %s did not stop cleanly within %.0f s (%s)", what, timeout_s, type(exc).__name__)


async def _quietly(*calls) -> None:
    for call in calls:
        try:
            await call
        except Exception:
            pass
