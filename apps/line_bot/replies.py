"""Tells the sender their report reached Siaga, through LINE's Messaging API.

A reply is a courtesy: it runs after the webhook has answered, and a failure is logged, never
passed on (the report is already safe in Kafka).
"""

from __future__ import annotations

import asyncio
import logging

from linebot.v3.messaging import AsyncApiClient, AsyncMessagingApi, Configuration, ReplyMessageRequest, TextMessage

log = logging.getLogger(__name__)

RECEIVED_TEXT = "Report received. Thank you, Siaga is checking it."
REPLY_TIMEOUT_S = 10.0


class ReplySender:
    def __init__(self, api_host: str, access_token: str):
        self._configuration = Configuration(host=api_host, access_token=access_token)
        self._client: AsyncApiClient | None = None
        self._api: AsyncMessagingApi | None = None
        self._tasks: set[asyncio.Task] = set()

    async def start(self) -> None:
        self._client = AsyncApiClient(self._configuration)  # owns an aiohttp session: made inside the loop
        self._api = AsyncMessagingApi(self._client)

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=REPLY_TIMEOUT_S)
        if self._client is not None:
            await self._client.close()

    def reply_when_published(self, publish: asyncio.Task, reply_token: str) -> None:
        """Once ``publish`` succeeds, answer the event behind ``reply_token``."""

        def after(done: asyncio.Task) -> None:
            if done.cancelled() or done.exception() is not None:
                return
            task = asyncio.create_task(self._reply(reply_token), name="line-reply")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        publish.add_done_callback(after)

    async def _reply(self, reply_token: str) -> None:
        assert self._api is not None, "start() first"
        request = ReplyMessageRequest(reply_token=reply_token, messages=[TextMessage(text=RECEIVED_TEXT)])
        try:
            await self._api.reply_message(request, _request_timeout=REPLY_TIMEOUT_S)
        except Exception as exc:  # expired token, LINE down, bad access token: the report is safe anyway
            log.warning("could not reply to a LINE event: %s", _describe(exc))


def _describe(exc: Exception) -> str:
    status = getattr(exc, "status", None)
    return f"{type(exc).__name__} (HTTP {status})" if status else type(exc).__name__
