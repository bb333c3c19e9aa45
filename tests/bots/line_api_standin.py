"""A local stand-in for LINE's Messaging API: records reply calls, fails the ones asked to fail.

The bot's real ``AsyncMessagingApi`` is pointed at it with ``LINE_API_HOST``. A reply token that
starts with ``fail-`` gets a 500, so tests can check that a failing reply does not fail the webhook.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from aiohttp import web

from fogverse.processes import free_port


@dataclass
class LineApiStandIn:
    replies: list[dict] = field(default_factory=list)  # {"authorization": ..., "body": {...}}
    url: str = ""
    _runner: web.AppRunner | None = None

    async def start(self) -> "LineApiStandIn":
        app = web.Application()
        app.router.add_post("/v2/bot/message/reply", self._reply)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def replies_to(self, reply_token: str) -> list[dict]:
        return [r for r in self.replies if r["body"].get("replyToken") == reply_token]

    async def _reply(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.replies.append({"authorization": request.headers.get("Authorization"), "body": body})
        if str(body.get("replyToken", "")).startswith("fail-"):
            return web.json_response({"message": "stand-in failure"}, status=500)
        return web.json_response({"sentMessages": [{"id": "1", "quoteToken": "q"}]})
