"""The producing end for apps with no source topic: crawler, Discord bot, LINE bot."""

from __future__ import annotations

import asyncio
import logging
from typing import Generic, TypeVar

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import RecordMetadata

from fogverse.broker_watch import BrokerWatch, retriable
from fogverse.codec import Codec
from fogverse.kafka_client import client_options
from fogverse.metrics import MetricsEmitter
from fogverse.settings import RuntimeSettings

log = logging.getLogger(__name__)

T = TypeVar("T")


class Publisher(Generic[T]):
    """Sends typed values to one topic and reports the counts to the observer topic.

    ``publish`` waits for the broker's ack (bounded by ``timeout_s``) so a caller such as a
    webhook knows the message is safe before it answers; ``publish_nowait`` hands the value to
    the producer and returns its ack future, for high-rate replay.

    A broker outage does not stop it: ``start`` waits for the broker (unless
    ``wait_for_broker=False``: the caller would rather give up), ``publish_nowait`` waits for
    room in the producer's buffer, and the watch logs when the broker goes away and comes back.
    An ack can still fail (the producer gives up after ``request_timeout_ms``, 40 s): the
    caller sees it and decides, as a webhook must answer its sender.
    """

    def __init__(self, *, service: str, topic: str, codec: Codec[T], settings: RuntimeSettings,
                 wait_for_broker: bool = True):
        self.service = service
        self.topic = topic
        self._codec = codec
        self.settings = settings
        self._wait_for_broker = wait_for_broker
        self.watch = BrokerWatch(settings.bootstrap_servers)
        self.producer = AIOKafkaProducer(
            **client_options(),
            bootstrap_servers=settings.bootstrap_servers, acks="all", linger_ms=5,
            client_id=f"{service}-{settings.instance_id}",
            metadata_max_age_ms=int(settings.metadata_max_age_s * 1000),  # grown partitions get traffic soon
        )
        self.metrics = MetricsEmitter(self.producer, settings, service, (topic,), watch=self.watch)

    async def start(self) -> None:
        try:
            if self._wait_for_broker:
                await self.watch.start_client(self.producer)
            else:
                await self.producer.start()
        except BaseException:  # cancelled while waiting for the broker, too: no "Unclosed AIOKafkaProducer"
            await asyncio.shield(self.producer.stop())
            raise
        await self.metrics.start()
        self.watch.start()

    async def stop(self) -> None:
        await self.watch.stop()
        await self.metrics.stop()
        await self.producer.stop()  # flushes what is still buffered

    async def __aenter__(self) -> "Publisher[T]":
        await self.start()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    async def publish(self, value: T, *, key: bytes | None = None, headers=None,
                      timeout_s: float | None = None) -> RecordMetadata:
        async def acked() -> RecordMetadata:
            return await (await self.publish_nowait(value, key=key, headers=headers))

        async with asyncio.timeout(timeout_s or None):
            return await acked()

    async def publish_nowait(self, value: T, *, key: bytes | None = None, headers=None) -> asyncio.Future:
        raw = self._codec.encode(value)
        while True:
            try:
                ack = await self.producer.send(self.topic, raw, key=key, headers=headers)
            except KafkaError as exc:
                if retriable(exc):
                    continue  # the buffer stayed full for request_timeout_ms: the broker is away
                raise
            ack.add_done_callback(self._count_ack)
            return ack

    def _count_ack(self, ack: asyncio.Future) -> None:
        if not ack.cancelled() and ack.exception() is None:
            self.metrics.count(self.topic)
        else:
            self.metrics.publish_failed(self.topic)
