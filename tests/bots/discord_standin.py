"""A local stand-in for Discord: the REST API calls the bot makes and the gateway websocket.

It speaks the gateway protocol far enough for discord.py's own client to log in, identify,
receive READY and GUILD_CREATE, and then get MESSAGE_CREATE events the test writes, so the bot
runs unchanged from the socket to Kafka. Payloads follow Discord's API reference (v10).

Tests point discord.py at it by setting ``discord.http.Route.BASE`` and
``DiscordWebSocket.DEFAULT_GATEWAY``.
"""

from __future__ import annotations

import asyncio
import datetime
import itertools
import json

from aiohttp import WSMsgType, web
from discord.utils import time_snowflake

from fogverse.processes import free_port

HELLO, HEARTBEAT, IDENTIFY, DISPATCH, HEARTBEAT_ACK = 10, 1, 2, 0, 11
MANAGE_MESSAGES = 1 << 13
SEND_AND_READ = (1 << 10) | (1 << 11) | (1 << 16) | (1 << 6)  # view, send, read history, add reactions


def snowflake() -> int:
    return time_snowflake(datetime.datetime.now(datetime.timezone.utc)) + next(_counter)


_counter = itertools.count()


def user(user_id: int, name: str, *, bot: bool = False) -> dict:
    return {"id": str(user_id), "username": name, "global_name": name, "discriminator": "0", "avatar": None,
            "bot": bot}


class DiscordStandIn:
    def __init__(self, token: str):
        self.token = token
        self.bot_user = user(snowflake(), "siaga-bot", bot=True)
        self.guild_id = snowflake()
        self.owner_id = snowflake()
        self.moderator_role = snowflake()
        self.channels = {name: snowflake() for name in ("reports", "general", "other")}
        self.sent: list[dict] = []  # {"channel_id": int, "body": dict} per message the bot posted
        self.reactions: list[dict] = []  # {"channel_id", "message_id", "emoji"}
        self.identifies: list[dict] = []
        self.close_code_after_identify: int | None = None  # e.g. 4014: disallowed (privileged) intents
        self.ready = asyncio.Event()
        self._sockets: list[web.WebSocketResponse] = []
        self._sequence = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def api_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    async def start(self) -> "DiscordStandIn":
        app = web.Application()
        app.router.add_get("/api/v10/users/@me", self._me)
        app.router.add_get("/api/v10/oauth2/applications/@me", self._application)
        app.router.add_post("/api/v10/channels/{channel_id}/messages", self._create_message)
        app.router.add_put("/api/v10/channels/{channel_id}/messages/{message_id}/reactions/{emoji}/@me",
                           self._add_reaction)
        app.router.add_get("/gateway", self._gateway)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def stop(self) -> None:
        for socket in list(self._sockets):
            await socket.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # ─── what a test does ───────────────────────────────────────────────────────────────────

    async def post(self, channel: str, content: str, *, author: dict | None = None, moderator: bool = False,
                   in_guild: bool = True, attachments: list[dict] | None = None, message_type: int = 0,
                   mentions: list[dict] | None = None, reply_to: int | None = None, forwards: int | None = None) -> int:
        """A person (or ``author``) posts in ``channel``, replying to or forwarding the message
        ``reply_to`` / ``forwards`` of that channel; returns the message id."""
        author = author or user(snowflake(), "warga")
        message_id = snowflake()
        data = {
            "id": str(message_id), "channel_id": str(self.channels[channel]) if in_guild else str(snowflake()),
            "author": author, "content": content, "timestamp": _iso_now(), "edited_timestamp": None,
            "tts": False, "mention_everyone": False, "mentions": mentions or [], "mention_roles": [],
            "attachments": attachments or [], "embeds": [], "pinned": False, "type": message_type,
        }
        if reply_to is not None or forwards is not None:  # a reply is type 19 with a reference of type 0
            data["type"] = 19 if reply_to is not None else message_type
            data["message_reference"] = {"type": 0 if reply_to is not None else 1,
                                         "message_id": str(reply_to if reply_to is not None else forwards),
                                         "channel_id": data["channel_id"], "guild_id": str(self.guild_id)}
        if in_guild:
            data["guild_id"] = str(self.guild_id)
            data["member"] = {"roles": [str(self.moderator_role)] if moderator else [], "joined_at": _iso_now(),
                              "deaf": False, "mute": False, "flags": 0}
        await self.dispatch("MESSAGE_CREATE", data)
        return message_id

    async def dispatch(self, event: str, data: dict) -> None:
        assert self._sockets, "the bot is not connected to the gateway"
        for socket in self._sockets:
            await socket.send_str(json.dumps({"op": DISPATCH, "t": event, "s": next(self._sequence), "d": data}))

    def sent_to(self, channel: str) -> list[dict]:
        return [s["body"] for s in self.sent if s["channel_id"] == self.channels[channel]]

    # ─── REST ───────────────────────────────────────────────────────────────────────────────

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization") == f"Bot {self.token}"

    async def _me(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        return _json(self.bot_user)

    async def _application(self, request: web.Request) -> web.Response:
        return _json({
            "id": self.bot_user["id"], "name": "Siaga", "description": "", "icon": None, "bot_public": False,
            "bot_require_code_grant": False, "owner": user(self.owner_id, "owner"), "verify_key": "00",
            "flags": 0, "rpc_origins": [], "summary": "",
        })

    async def _create_message(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _json({"message": "401: Unauthorized", "code": 0}, status=401)
        body = await request.json()
        channel_id = int(request.match_info["channel_id"])
        self.sent.append({"channel_id": channel_id, "body": body})
        return _json({
            "id": str(snowflake()), "channel_id": str(channel_id), "guild_id": str(self.guild_id),
            "author": self.bot_user, "content": body.get("content", ""), "timestamp": _iso_now(),
            "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [],
            "mention_roles": [], "attachments": [], "embeds": [], "pinned": False, "type": 19,
        })

    async def _add_reaction(self, request: web.Request) -> web.Response:
        self.reactions.append({"channel_id": int(request.match_info["channel_id"]),
                               "message_id": int(request.match_info["message_id"]),
                               "emoji": request.match_info["emoji"]})
        return web.Response(status=204)

    # ─── gateway ────────────────────────────────────────────────────────────────────────────

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        await socket.send_str(json.dumps({"op": HELLO, "d": {"heartbeat_interval": 41250}}))
        async for frame in socket:
            if frame.type != WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            if payload["op"] == HEARTBEAT:
                await socket.send_str(json.dumps({"op": HEARTBEAT_ACK}))
            elif payload["op"] == IDENTIFY:
                self.identifies.append(payload["d"])
                if payload["d"].get("token") != self.token:
                    await socket.close(code=4004, message=b"Authentication failed.")
                elif self.close_code_after_identify is not None:
                    await socket.close(code=self.close_code_after_identify, message=b"Disallowed intent(s).")
                else:
                    self._sockets.append(socket)
                    await self._welcome()
        if socket in self._sockets:
            self._sockets.remove(socket)
        return socket

    async def _welcome(self) -> None:
        await self.dispatch("READY", {
            "v": 10, "user": self.bot_user, "guilds": [{"id": str(self.guild_id), "unavailable": True}],
            "session_id": "standin-session", "resume_gateway_url": self.gateway_url, "shard": [0, 1],
            "application": {"id": self.bot_user["id"], "flags": 0},
        })
        await self.dispatch("GUILD_CREATE", self._guild())
        self.ready.set()

    def _guild(self) -> dict:
        everyone = {"id": str(self.guild_id), "name": "@everyone", "permissions": str(SEND_AND_READ), "position": 0,
                    "color": 0, "hoist": False, "managed": False, "mentionable": False, "flags": 0}
        moderators = dict(everyone, id=str(self.moderator_role), name="moderator", position=1,
                          permissions=str(SEND_AND_READ | MANAGE_MESSAGES))
        channels = [{"id": str(channel_id), "type": 0, "name": name, "position": position, "guild_id": str(self.guild_id),
                     "permission_overwrites": [], "nsfw": False, "parent_id": None, "topic": None}
                    for position, (name, channel_id) in enumerate(self.channels.items())]
        return {
            "id": str(self.guild_id), "name": "Siaga test server", "icon": None, "owner_id": str(self.owner_id),
            "roles": [everyone, moderators], "channels": channels, "threads": [], "members": [],
            "emojis": [], "stickers": [], "features": [], "member_count": 3, "large": False, "unavailable": False,
            "joined_at": _iso_now(), "voice_states": [], "presences": [], "stage_instances": [],
            "guild_scheduled_events": [], "premium_tier": 0, "verification_level": 0, "mfa_level": 0,
            "system_channel_flags": 0, "preferred_locale": "en-US", "nsfw_level": 0,
        }


def _json(data: dict, status: int = 200) -> web.Response:
    # Discord sends a bare "application/json", and discord.py only parses bodies labelled exactly so
    return web.Response(body=json.dumps(data).encode(), status=status, headers={"Content-Type": "application/json"})


def _iso_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat()
