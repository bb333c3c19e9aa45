"""One Discord message in ▸ ignore it, answer a command, or publish it as a report."""

from __future__ import annotations

import asyncio
import enum
import logging

import discord

from fogverse.contracts import Report
from fogverse.publisher import Publisher

from apps.discord_bot import commands
from apps.discord_bot.incidents import IncidentIndex
from apps.discord_bot.limits import AuthorRateLimit
from apps.discord_bot.messages import from_people, report_from_message, watched

log = logging.getLogger(__name__)

#: Added to a message whose report the broker did not confirm, so its author knows to post again.
NOT_CONFIRMED_REACTION = "⚠️"
NO_PINGS = discord.AllowedMentions.none()


class Outcome(enum.Enum):
    """What became of one message; the value is its ``outcome`` in ``siaga_messages_received_total``."""

    NOT_FROM_PEOPLE = "not_from_people"
    NOT_WATCHED = "not_watched"
    NO_TEXT = "no_text"
    COMMAND = "command"
    RATE_LIMITED = "rate_limited"
    PUBLISHED = "published"
    NOT_CONFIRMED = "not_confirmed"


class MessageHandler:
    def __init__(self, *, publisher: Publisher[Report], incidents: IncidentIndex, channel_ids: frozenset[int],
                 incidents_shown: int, publish_timeout_s: float, read_dms: bool = False,
                 author_limit: AuthorRateLimit | None = None):
        self._publisher = publisher
        self._incidents = incidents
        self._channel_ids = channel_ids
        self._read_dms = read_dms
        self._author_limit = author_limit or AuthorRateLimit(0)
        self._incidents_shown = incidents_shown
        self._publish_timeout_s = publish_timeout_s

    async def handle(self, message: discord.Message, me: discord.abc.User | None) -> Outcome:
        if not from_people(message, me):
            return Outcome.NOT_FROM_PEOPLE
        if not watched(message, self._channel_ids, self._read_dms):
            return Outcome.NOT_WATCHED
        command = commands.command_of(message.content)
        if command is not None:
            await self._answer(message, command)
            return Outcome.COMMAND
        report = report_from_message(message)
        if report is None:
            return Outcome.NO_TEXT
        author = str(message.author.id)
        if not self._author_limit.allow(author):
            if self._author_limit.first_drop(author):
                log.warning("author %s sent more than %d reports in a minute: dropping the rest of this minute's",
                            author, self._author_limit.per_minute)
            return Outcome.RATE_LIMITED
        try:
            # bounds the metadata wait in send() as well as the ack
            async with asyncio.timeout(self._publish_timeout_s):
                await self._publisher.publish(report, key=report.channel_id.encode())
        except Exception as exc:  # broker down or slow: Discord will not redeliver, so tell the author
            log.warning("report of message %s not confirmed by the broker: %s", message.id, type(exc).__name__)
            await _best_effort(message.add_reaction(NOT_CONFIRMED_REACTION))
            return Outcome.NOT_CONFIRMED
        return Outcome.PUBLISHED

    async def _answer(self, message: discord.Message, command: str) -> None:
        if command == commands.HELP:
            text = commands.HELP_TEXT
        elif message.guild is None or not isinstance(message.author, discord.Member):
            text = commands.NOT_IN_A_SERVER_TEXT
        elif not message.channel.permissions_for(message.author).manage_messages:
            text = commands.NOT_A_MODERATOR_TEXT
        else:
            text = commands.incidents_text(self._incidents.latest(str(message.channel.id), self._incidents_shown))
        await _best_effort(message.reply(text, mention_author=False, allowed_mentions=NO_PINGS))


async def _best_effort(call) -> None:
    try:
        await call
    except discord.DiscordException as exc:  # missing permission to post or react: not worth failing over
        log.warning("could not answer on Discord: %s", exc)
