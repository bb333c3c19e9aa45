"""``python -m apps.discord_bot`` as an operator runs it, pointed at the test's Discord stand-in
(``STANDIN_API_BASE``, ``STANDIN_GATEWAY``): the only difference is where discord.py connects."""

from __future__ import annotations

import os
import runpy

import discord
import yarl
from discord.gateway import DiscordWebSocket

discord.http.Route.BASE = os.environ.pop("STANDIN_API_BASE")
DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(os.environ.pop("STANDIN_GATEWAY"))
runpy.run_module("apps.discord_bot", run_name="__main__", alter_sys=True)
